// Chinese texts for select2 and bootstrap-datepicker; the strings themselves come
// from the babel catalog through window.I18N (rendered by appbuilder/init.html).
(function () {
    var t = window.I18N;
    t.select2 = {
        noResults: function () { return t.noResults; },
        searching: function () { return t.searching; },
        loadingMore: function () { return t.loadingMore; },
        errorLoading: function () { return t.errorLoading; },
        removeAllItems: function () { return t.removeAll; },
        inputTooShort: function () { return t.inputTooShort; }
    };
    if ($.fn.datepicker) {
        $.fn.datepicker.dates['zh-CN'] = {
            days: t.days, daysShort: t.daysShort, daysMin: t.daysMin,
            months: t.months, monthsShort: t.monthsShort,
            today: t.today, clear: t.clear, format: 'yyyy-mm-dd',
            titleFormat: t.titleFormat, weekStart: 1
        };
    }
})();
