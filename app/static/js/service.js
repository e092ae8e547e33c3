// 三单 pages: confirm before an action is sent; the dispatch form's target choice.
(function () {
    document.querySelectorAll('form[data-confirm]').forEach(function (form) {
        form.addEventListener('submit', function (e) {
            if (!window.confirm(form.getAttribute('data-confirm'))) { e.preventDefault(); }
        });
    });
    document.querySelectorAll('#act-dispatch form').forEach(function (form) {
        function sync() {
            var kind = (form.querySelector('input[name=target]:checked') || {}).value || 'pool';
            form.querySelectorAll('[data-when]').forEach(function (el) {
                var on = el.getAttribute('data-when') === kind;
                el.disabled = !on;
                el.style.display = on ? '' : 'none';
            });
        }
        form.querySelectorAll('input[name=target]').forEach(function (r) { r.addEventListener('change', sync); });
        sync();
    });
})();
