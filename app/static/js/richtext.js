// Rich-text fields (app.fields.RichTextField): a toolbar and an editable box over the
// real <textarea>, which stays the field that is submitted. Without this script the
// textarea is simply shown. No library: the browser's own document.execCommand.
(function () {
    'use strict';

    if (typeof document.execCommand !== 'function') { return; }

    function blockOf(editor) {
        var selection = window.getSelection();
        var node = selection && selection.rangeCount ? selection.getRangeAt(0).startContainer : null;
        while (node && node !== editor) {
            if (node.nodeType === 1 && /^(H2|H3|H4|BLOCKQUOTE)$/.test(node.nodeName)) { return node.nodeName.toLowerCase(); }
            node = node.parentNode;
        }
        return '';
    }

    function setup(box) {
        var source = box.querySelector('textarea.richtext-source');
        var editor = box.querySelector('.richtext-editor');
        var toolbar = box.querySelector('.richtext-toolbar');
        if (!source || !editor || !toolbar || box.getAttribute('data-ready')) { return; }
        box.setAttribute('data-ready', '1');

        // the stored HTML was sanitized on the server (app.richtext.sanitize)
        editor.innerHTML = source.value;
        function sync() { source.value = editor.innerHTML; }

        function run(command, value) {
            editor.focus();
            document.execCommand('styleWithCSS', false, false);  // <b>, not <span style>
            if (command === 'formatBlock') {
                // a second press on a heading or quote makes it a paragraph again
                value = blockOf(editor) === value ? 'p' : value;
                document.execCommand('formatBlock', false, '<' + value + '>');
            } else if (command === 'createLink') {
                var url = window.prompt(box.getAttribute('data-link-prompt') || 'URL', 'https://');
                if (url === null) { return; }
                url = url.trim();
                if (!url || url === 'https://') {
                    document.execCommand('unlink', false, null);
                } else {
                    document.execCommand('createLink', false, url);
                }
            } else if (command === 'removeFormat') {
                document.execCommand('removeFormat', false, null);
                document.execCommand('unlink', false, null);
                if (blockOf(editor)) { document.execCommand('formatBlock', false, '<p>'); }  // a heading or quote
            } else {
                document.execCommand(command, false, null);
            }
            sync();
        }

        toolbar.addEventListener('mousedown', function (e) {
            if (e.target.closest('button')) { e.preventDefault(); }  // keep the selection in the box
        });
        toolbar.addEventListener('click', function (e) {
            var button = e.target.closest('button[data-command]');
            if (button) { run(button.getAttribute('data-command'), button.getAttribute('data-value')); }
        });
        editor.addEventListener('input', sync);
        editor.addEventListener('blur', sync);
        if (source.form) { source.form.addEventListener('submit', sync); }

        // the field's label now points at the box
        var label = source.id ? document.querySelector('label[for="' + source.id + '"]') : null;
        if (label) {
            editor.setAttribute('aria-label', label.textContent.replace(/\s+/g, ' ').trim());
            label.addEventListener('click', function (e) { e.preventDefault(); editor.focus(); });
        }

        toolbar.hidden = false;
        editor.hidden = false;
        source.hidden = true;
        box.classList.add('richtext-on');
    }

    function start() {
        try { document.execCommand('defaultParagraphSeparator', false, 'p'); } catch (ignored) { /* old browsers */ }
        document.querySelectorAll('[data-richtext]').forEach(setup);
    }

    if (document.readyState === 'loading') {
        document.addEventListener('DOMContentLoaded', start);
    } else {
        start();
    }
})();
