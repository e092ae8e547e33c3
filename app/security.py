"""Users with a data scope, and a security manager that checks permissions in memory.

Flask-AppBuilder asks the database once per ``has_access`` call and once more for the
menu; a list page made ~10 such calls. Here a request loads the user with roles and
groups in one statement and all of the user's (permission, view) pairs in one more,
then answers every check from that set.

The accounts are the domain's: it registers its user model (FAB's ``User`` with the
data-scope and password columns, table ab_user) with :func:`app.scope.register_user_model`
at start-up, before the security manager is made; without one the manager keeps FAB's
``User``. The engine reaches the model through ``appbuilder.sm.user_model``.
"""
from __future__ import annotations

from flask import current_app, g, has_request_context, jsonify, redirect, request
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access, permission_name
from flask_appbuilder.security.sqla.manager import SecurityManager as FabSecurityManager
from flask_appbuilder.security.sqla.models import (Group, Permission, PermissionView, ViewMenu,
                                                   assoc_permissionview_role)
from flask_appbuilder.actions import action
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.security.views import (AuthDBView, PermissionModelView, PermissionViewModelView,
                                             RoleModelView, UserDBModelView, UserGroupModelView,
                                             ViewMenuModelView)
from flask_babel import gettext, lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload
from wtforms import Field, SelectField
from wtforms.validators import ValidationError

from app import lockout, passwords, scope as scope_mod, sessions
from app.extensions import db
from app.filters import like_escape
from app.menu import CATEGORIES
from app.registry import entities, menu_name
from app.scope import load_node, node_key, node_label, scope_problem


# ----------------------------------------------------------------------------- labels

#: FAB's own permission and view names, as the security admin reads them
_PERMISSION_LABELS = {
    "can_read": _l("Read"), "can_write": _l("Write"), "can_export": _l("Export"),
    "menu_access": _l("Menu"), "can_list": _l("List"), "can_show": _l("Show"),
    "can_add": _l("Add"), "can_edit": _l("Edit"), "can_delete": _l("Delete"),
    "can_get": _l("Read"), "can_info": _l("Read"), "can_post": _l("Add"), "can_put": _l("Edit"),
    "can_userinfo": _l("Own user information"), "userinfoedit": _l("Edit own information"),
    "can_this_form_get": _l("Open the form"), "can_this_form_post": _l("Submit the form"),
    "can_chart": _l("Chart"), "can_download": _l("Download"), "unlock": _l("Unlock"),
    "resetpasswords": _l("Reset passwords"), "resetmypassword": _l("Change own password"),
    "can_action": _l("Action"), "can_related": _l("Read"), "copyrole": _l("Copy Role"),
    "can_import": _l("Import"), "can_reveal": _l("Reveal sensitive data"),
}
_VIEW_LABELS = {
    "UserDBModelView": _l("Users"), "RoleModelView": _l("Roles"), "UserGroupModelView": _l("Groups"),
    "PermissionModelView": _l("Base Permissions"), "ViewMenuModelView": _l("Views/Menus"),
    "PermissionViewModelView": _l("Permission on Views/Menus"),
    "UserStatsChartView": _l("User's Statistics"), "ResetMyPasswordView": _l("Change own password"),
    "ResetPasswordView": _l("Reset passwords"), "UserInfoEditView": _l("Edit own information"),
    "OpenApi": _l("API description (OpenAPI)"), "SwaggerView": _l("API documentation (Swagger)"),
    "MenuApi": _l("Menu API"), "Security": _l("Security"), "List Users": _l("List Users"),
    "AuthDBView": _l("Sign In"), "LoginView": _l("Sign In"), "HomeView": _l("Home"), "LocaleView": _l("Language"),
    "SensitiveData": _l("Sensitive personal data"), "OverdueList": _l("Overdue visits"),
    "DispatchDesk": _l("Dispatch desk"), "TakerDesk": _l("My orders"), "DemandIntake": _l("Quick intake"),
    "Notifications": _l("Notifications"), "ServiceRates": _l("Service rates"),
    "BulletinArchive": _l("Bulletin archive"), "WindowStats": _l("One-stop window figures"),
    "AssessmentRanking": _l("Assessment ranking"), "MeetingDashboard": _l("Meeting dashboard"),
    "SecurityApi": _l("Sign-in API"), "UtilView": _l("Back"),
    "List Roles": _l("List Roles"), "List Groups": _l("List Groups"),
    "User's Statistics": _l("User's Statistics"), "Base Permissions": _l("Base Permissions"),
    "Views/Menus": _l("Views/Menus"), "Permission on Views/Menus": _l("Permission on Views/Menus"),
}


def local_next(value: str | None) -> str | None:
    """``value`` if it is a path on this site, else None: no scheme or host, no
    backslash, no whitespace or control character (browsers drop a tab or newline
    and would read ``/\t/evil.example`` as ``//evil.example``)."""
    from urllib.parse import urlsplit

    if not value or len(value) > 2000 or not value.startswith("/") or "\\" in value:
        return None
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or value.startswith("//"):
        return None
    return value


def permission_label(name: str) -> str:
    label = _PERMISSION_LABELS.get(name)
    if label is None and name.startswith("can_"):  # a workflow action an entity declares
        label = next((m.Admin.actions[name[4:]] for m in entities() if name[4:] in m.Admin.actions), None)
    return str(label) if label is not None else name.replace("can_", "").replace("_", " ")


def view_label(name: str) -> str:
    """Entities by their label, menu items as "<plural> (menu)", categories by theirs."""
    if name in _VIEW_LABELS:
        return str(_VIEW_LABELS[name])
    if name in CATEGORIES:
        return gettext("%(name)s (menu group)", name=CATEGORIES[name][0])
    for model in entities():
        if name == model.__name__:
            return str(model.Admin.title(model))
        if name == menu_name(model):
            return gettext("%(name)s (menu)", name=model.Admin.plural(model))
    return name


def _permission_view_repr(self) -> str:
    return gettext("%(permission)s · %(view)s", permission=permission_label(self.permission.name),
                   view=view_label(self.view_menu.name))


def install_permission_labels() -> None:
    """Role and permission pages show permissions in the user's language."""
    from flask_appbuilder.security.sqla.models import Permission as P, PermissionView as PV, \
        ViewMenu as VM

    PV.__repr__ = PV.__str__ = _permission_view_repr
    P.__repr__ = P.__str__ = lambda self: permission_label(self.name)
    VM.__repr__ = VM.__str__ = lambda self: view_label(self.name)


# ----------------------------------------------------------------------------- user form

class ScopeNodeWidget:
    def __call__(self, field, **kwargs):
        from flask import url_for

        current = field.data
        option = (f'<option value="{escape(node_key(current))}" selected>{escape(node_label(current))}</option>'
                  if current is not None else "")
        return Markup(
            f'<select id="{field.id}" name="{field.name}" class="form-control ajax-select" '
            f'data-url="{escape(url_for("UserView.scope_nodes"))}" '
            f'data-placeholder="{escape(gettext("Type to search…"))}" data-allow-clear="true">'
            f'<option value=""></option>{option}</select>')


class FilterReservedRoles(BaseFilter):
    """Roles a security admin may give: not FAB's all-permissions role nor the public
    role of visitors (三员: nobody holds everything)."""

    name = "reserved"
    arg_name = "reserved"

    def apply(self, query, value):
        reserved = [current_app.config["AUTH_ROLE_ADMIN"], current_app.config["AUTH_ROLE_PUBLIC"]]
        return query.filter(self.model.name.notin_(reserved))


_GRANTABLE_ROLES = {"roles": [["name", FilterReservedRoles, None]]}


def _scope_fits(form, field):
    problem = scope_problem(form.scope_kind.data, field.data)
    if problem:
        raise ValidationError(str(problem))


class ScopeNodeField(Field):
    """A street, community or grid, searched on the server."""

    widget = ScopeNodeWidget()

    def process_formdata(self, valuelist):
        raw = valuelist[0] if valuelist else ""
        self.data = load_node(raw) if raw else None
        if raw and self.data is None:
            raise ValueError(gettext("Choose a valid value."))

    def populate_obj(self, obj, name):
        pass  # written together with the kind, in UserView.pre_add / pre_update


class UserView(UserDBModelView):
    """FAB's user view with the user's data scope (same permission name as FAB's)."""

    class_permission_name = "UserDBModelView"

    _scope_fields = {
        "scope_kind": SelectField(_l("Scope kind"), choices=[(k, v) for k, v in scope_mod.KINDS.items()],
                                  default=scope_mod.SELF, widget=Select2Widget(),
                                  description=_l("How far the user's data reaches from the scope node")),
        "scope_node": ScopeNodeField(_l("Scope node"), [_scope_fits],
                                     description=_l("The street, community or grid the user works in")),
    }
    add_form_extra_fields = {**UserDBModelView.add_form_extra_fields, **_scope_fields}
    edit_form_extra_fields = dict(_scope_fields)
    # Chinese names: surname first
    add_columns = ["last_name", "first_name", "username", "active", "email", "roles", "groups",
                   "password", "conf_password", "scope_kind", "scope_node"]
    edit_columns = ["last_name", "first_name", "username", "active", "email", "roles", "groups",
                    "scope_kind", "scope_node"]
    list_columns = ["last_name", "first_name", "username", "email", "active", "roles", "scope_text"]
    show_columns = ["last_name", "first_name", "username", "active", "email", "roles", "groups",
                    "scope_text", "last_login", "login_count", "created_on", "changed_on"]
    description_columns = {
        **UserDBModelView.description_columns,
        "username": _l("The name the user signs in with"),
        "email": _l("The user's e-mail address; each account needs its own"),
        "roles": _l("The roles decide what the user may do"),
        "groups": _l("A group gives its roles to all its members"),
    }
    label_columns = {**UserDBModelView.label_columns, "scope_text": _l("Data scope"), "scope_kind": _l("Scope kind"),
                     "scope_node": _l("Scope node")}

    add_form_query_rel_fields = _GRANTABLE_ROLES
    edit_form_query_rel_fields = _GRANTABLE_ROLES

    def prefill_form(self, form, pk):
        item = self.datamodel.get(pk)
        form.scope_node.data = item.scope_node if item is not None else None

    def _check_roles(self, item):
        """Reserved roles cannot be given; nobody changes their own roles."""
        from sqlalchemy.orm.attributes import get_history

        reserved = {current_app.config["AUTH_ROLE_ADMIN"], current_app.config["AUTH_ROLE_PUBLIC"]}
        if any(role.name in reserved for role in item.roles):
            raise ValueError(gettext("This role cannot be given to an account."))
        if item.id is not None and item.id == getattr(g.user, "id", None) \
                and get_history(item, "roles").has_changes():
            raise ValueError(gettext("You cannot change your own roles; ask another security administrator."))

    def _apply_scope(self, item):
        form = getattr(g, "_user_form", None)
        if form is None:
            return
        item.set_scope(form.scope_kind.data, form.scope_node.data)

    def process_form(self, form, is_created):
        g._user_form = form

    def pre_add(self, item):
        self._check_roles(item)
        self._apply_scope(item)
        super().pre_add(item)

    def post_add(self, item):
        """A new account's password was chosen by the administrator: the user changes it
        at the first sign-in."""
        passwords.remember(item, item.password)
        item.must_change_password = True
        db.session.commit()

    def pre_update(self, item):
        self._check_roles(item)
        self._apply_scope(item)
        super().pre_update(item)

    @action("unlock", _l("Unlock"), _l("Lift the sign-in lock of the chosen accounts?"), "fa-unlock",
            multiple=True, single=True)
    def unlock(self, items):
        """Lift the lock that repeated failed sign-ins put on an account (logged)."""
        from flask import flash

        items = items if isinstance(items, list) else [items]
        unlocked = [u.username for u in items if lockout.unlock(u)]
        if unlocked:
            flash(gettext("Unlocked: %(names)s", names="、".join(unlocked)), "success")
        else:
            flash(gettext("None of them was locked."), "info")
        return redirect(self.get_redirect())

    @expose("/scope-nodes/")
    @has_access
    @permission_name("list")
    def scope_nodes(self):
        """Streets, communities and grids matching ``q`` (for the scope picker)."""
        text = (request.args.get("q") or "").strip()
        like = f"%{like_escape(text)}%"
        results = []
        tree = scope_mod.places()
        for model in tree or ():
            stmt = select(model)
            if model is tree.grid:
                stmt = stmt.options(joinedload(tree.grid.community))
            if text:
                stmt = stmt.where(or_(model.name.ilike(like, escape="\\"), model.code.ilike(like, escape="\\")))
            for node in db.session.scalars(stmt.order_by(model.name).limit(20)):
                results.append({"id": node_key(node), "text": node_label(node)})
        return jsonify(count=len(results), result=results)


class RoleView(RoleModelView):
    """FAB's role view with every column labelled, and copies named in Chinese."""

    class_permission_name = "RoleModelView"
    label_columns = {**RoleModelView.label_columns, "user": _l("Users"), "groups": _l("Groups")}

    @action("copyrole", _l("Copy Role"), _l("Copy the selected roles?"), icon="fa-copy", single=False)
    def copy_role(self, items):
        self.update_redirect()
        for item in items:
            copy = item.__class__()
            copy.name = gettext("%(name)s (copy)", name=item.name)
            copy.permissions = list(item.permissions)
            self.datamodel.add(copy)
        return redirect(self.get_redirect())


class PermissionView_(PermissionModelView):
    class_permission_name = "PermissionModelView"
    list_columns = ["name"]
    formatters_columns = {"name": permission_label}


class ViewMenuView(ViewMenuModelView):
    class_permission_name = "ViewMenuModelView"
    list_columns = ["name"]
    formatters_columns = {"name": view_label}


class PermissionViewView(PermissionViewModelView):
    class_permission_name = "PermissionViewModelView"
    label_columns = {**PermissionViewModelView.label_columns, "role": _l("Roles")}


class GroupView(UserGroupModelView):
    class_permission_name = "UserGroupModelView"
    add_form_query_rel_fields = _GRANTABLE_ROLES
    edit_form_query_rel_fields = _GRANTABLE_ROLES
    label_columns = {"name": _l("Name"), "label": _l("Label"), "description": _l("Description"),
                     "users": _l("Users"), "roles": _l("Roles")}


# ----------------------------------------------------------------------------- manager

class _PolicyHint:
    """The password fields' hint: the policy as configured (FAB's says none is checked)."""

    def __str__(self):
        config = current_app.config
        return gettext("At least %(length)s characters of %(classes)s of the four kinds (lower case, capitals, "
                       "digits, other characters); not containing the user name; none of your last %(history)s.",
                       length=config.get("PASSWORD_MIN_LENGTH", 8), classes=config.get("PASSWORD_MIN_CLASSES", 3),
                       history=config.get("PASSWORD_HISTORY", 5))

    def __html__(self):
        return str(escape(str(self)))

    def __bool__(self):
        return True


def _install_password_hints() -> None:
    from flask_appbuilder.security.forms import ResetPasswordForm

    for unbound in (ResetPasswordForm.password, UserDBModelView.add_form_extra_fields["password"]):
        unbound.kwargs["description"] = _PolicyHint()


_install_password_hints()


class LoginView(AuthDBView):
    """FAB's sign-in page; a refusal says why when the account is locked."""

    @property
    def invalid_login_message(self):
        return g.get("login_refusal") or gettext("Wrong user name or password. Please try again.")

    @expose("/logout/", methods=["GET", "POST"])
    def logout(self):
        """Sign-out is a POST carrying the CSRF token (the app checks it for every POST):
        a GET — a link, or a picture someone slipped into a page — only shows a page
        with the button, and signs nobody out."""
        from flask_login import current_user

        if request.method != "POST":
            if not current_user.is_authenticated:
                return redirect(self.appbuilder.get_url_for_login)
            return self.render_template("appbuilder/general/security/logout.html",
                                        title=gettext("Sign out"), appbuilder=self.appbuilder)
        return super().logout()


class SecurityManager(FabSecurityManager):
    authdbview = LoginView
    userdbmodelview = UserView
    userstatschartview = None  # FAB's chart loads Google Charts: not on an intranet
    rolemodelview = RoleView
    groupmodelview = GroupView
    permissionmodelview = PermissionView_
    viewmenumodelview = ViewMenuView
    permissionviewmodelview = PermissionViewView

    def __init__(self, appbuilder):
        if scope_mod.user_model() is not None:
            self.user_model = scope_mod.user_model()
        super().__init__(appbuilder)

    def reset_password(self, userid, password):
        """Every password change (the user's own, an administrator's reset): kept in the
        history, the user's other sessions end; set by someone else, it must be changed
        at the next sign-in (app.passwords)."""
        super().reset_password(userid, password)
        user = self.get_user_by_id(userid)
        own = has_request_context() and getattr(g.user, "id", None) == user.id
        passwords.remember(user, user.password)
        user.must_change_password = not own
        db.session.commit()
        if own:
            sessions.keep(user)

    def auth_user_db(self, username, password):
        """Sign-in with a password, for the sign-in page and the API alike: locked after
        repeated failures, every attempt logged (app.lockout)."""
        channel = "api" if has_request_context() and request.path.startswith("/api/") else "web"
        return lockout.authenticate(self, username, password, channel)

    def load_user(self, pk):
        try:
            pk = int(pk)
        except (TypeError, ValueError):
            return None
        user = (self.session.query(self.user_model)
                .options(joinedload(self.user_model.roles),
                         joinedload(self.user_model.groups).joinedload(Group.roles))
                .filter(self.user_model.id == pk).one_or_none())
        if user is not None and user.is_active:
            return user
        return None

    def load_user_jwt(self, _jwt_header, jwt_data):
        user = self.load_user(jwt_data["sub"])
        if user is not None and jwt_data.get("epoch", 0) != sessions.epoch(user):
            return None  # a token from before a password change
        if user is not None and passwords.must_change(user):
            g.must_change_password_first = True  # answered 403 (app.api): change it on the page first
            return None
        if user is not None:
            g.user = user
        return user

    def validate_api_key(self, api_key_string: str):
        """FAB's API keys (when enabled) hold the same rule as tokens: an account that must
        change its password first is refused."""
        if super().validate_api_key(api_key_string) is None:
            return None
        # FAB's key belongs to its plain User model: the account is loaded as ours
        user_id = self.session.scalar(select(self.api_key_model.user_id).where(
            self.api_key_model.lookup_hash == self._compute_lookup_hash(api_key_string)))
        user = self.load_user(user_id)
        if user is None or passwords.must_change(user):
            g.user = None
            g._api_key_user = False
            g.must_change_password_first = user is not None
            return None
        g.user = user
        return user

    # -- permissions from one statement per request --------------------------------
    def _role_ids(self, user) -> list[int]:
        roles = self.get_user_roles(user)
        return sorted({r.id for r in roles if r is not None})

    def permissions_of(self, user) -> frozenset:
        """All (permission, view) pairs of ``user`` (or of the public role for None)."""
        cache_key = ("_perm_cache", getattr(user, "id", None))
        if has_request_context():
            cache = g.setdefault("_perm_cache", {})
            if cache_key in cache:
                return cache[cache_key]
        if user is None:
            role = self.get_public_role()
            role_ids = [role.id] if role is not None else []
        else:
            role_ids = self._role_ids(user)
        pairs = frozenset()
        if role_ids:
            rows = self.session.execute(
                select(Permission.name, ViewMenu.name)
                .select_from(PermissionView)
                .join(Permission, PermissionView.permission_id == Permission.id)
                .join(ViewMenu, PermissionView.view_menu_id == ViewMenu.id)
                .join(assoc_permissionview_role,
                      assoc_permissionview_role.c.permission_view_id == PermissionView.id)
                .where(assoc_permissionview_role.c.role_id.in_(role_ids))).all()
            pairs = frozenset((p, v) for p, v in rows)
        if has_request_context():
            g._perm_cache[cache_key] = pairs
        return pairs

    def _current_user(self):
        if getattr(g, "_api_key_user", False) and hasattr(g, "user"):
            return g.user
        from flask_login import current_user

        if current_user.is_authenticated:
            return g.user if getattr(g, "user", None) is not None else current_user
        from flask_appbuilder.security.manager import current_user_jwt

        if current_user_jwt and current_user_jwt.is_active:
            return current_user_jwt
        return None

    def has_access(self, permission_name: str, view_name: str) -> bool:
        user = self._current_user()
        if user is not None and not user.is_active:
            return False
        return (permission_name, view_name) in self.permissions_of(user)

    def _has_view_access(self, user, permission_name: str, view_name: str) -> bool:
        return (permission_name, view_name) in self.permissions_of(user)

    def is_item_public(self, permission_name, view_name):
        return (permission_name, view_name) in self.permissions_of(None)

    def get_user_menu_access(self, menu_names=None):
        pairs = self.permissions_of(self._current_user())
        names = {v for p, v in pairs if p == "menu_access"}
        return names if menu_names is None else names & set(menu_names)
