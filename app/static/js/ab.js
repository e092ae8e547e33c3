//-----------------------------------------------------------
// Relation pickers: select2 asking the entity API's related endpoint
// (server-side search, 20 at a time); the page carries only current values.
//-----------------------------------------------------------
function initAjaxSelect(elem) {
    if (elem.data('select2')) { return; }
    elem.select2({
        theme: "bootstrap",
        width: "100%",
        language: I18N.select2,
        placeholder: elem.data('placeholder') || I18N.select,
        allowClear: elem.data('allow-clear') !== false && elem.data('allow-clear') !== "false",
        minimumInputLength: 0,
        ajax: {
            url: elem.data('url'),
            dataType: 'json',
            delay: 250,
            data: function (params) { return {q: params.term || '', page: (params.page || 1) - 1}; },
            processResults: function (data, params) {
                var page = params.page || 1;
                return {results: data.result, pagination: {more: page * 20 < data.count}};
            }
        }
    });
}

// Resolve the label of an id (used when a search filter is restored from the URL)
function setAjaxSelectValue(elem, value) {
    if (!value) { return; }
    $.getJSON(elem.data('url'), {ids: value}, function (data) {
        var text = value;
        if (data.result && data.result.length) { text = data.result[0].text; }
        elem.append(new Option(text, value, true, true)).trigger('change');
    });
}

//-----------------------------------------------------------
// AJAX REST call to server to fetch data for select2 Slaves
//-----------------------------------------------------------
function loadSelectDataSlave(elem) {
    $(".my_select2_ajax_slave").each(function (index) {
        var elem = $(this);
        var master_id = elem.attr('master_id');
        var master_val = $('#' + master_id).val();
        if (master_val) {
            var endpoint = elem.attr('endpoint');
            endpoint = endpoint.replace("{{ID}}", master_val);
            $.get(endpoint, function (data) {
                elem.select2({data: data, placeholder: I18N.select, allowClear: true});
            });
        } else {
            elem.select2({
                data: {id: "", text: ""},
                placeholder: I18N.select,
                allowClear: true
            });
        }
        $('#' + master_id).on("change", function (e) {
            var change_master_val = $('#' + master_id).val();
            var endpoint = elem.attr('endpoint');
            if (change_master_val) {
                endpoint = endpoint.replace("{{ID}}", change_master_val);
                $.get(endpoint, function (data) {
                    elem.select2({data: data, placeholder: I18N.select, allowClear: true});
                });
            }
        })
    });
}


//----------------------------------------------------
// AJAX REST call to server to fetch data for select2
//----------------------------------------------------
function loadSelectData() {
    $(".my_select2_ajax").each(function (index) {
        var elem = $(this);
        $.get($(this).attr('endpoint'), function (data) {
            elem.select2({data: data, placeholder: I18N.select, allowClear: true});
        });
    });
}


//---------------------------------------
// Setup date time modal views, select2
//---------------------------------------
$(function () {

    $('.appbuilder_datetime').datepicker({
        format: 'yyyy-mm-dd', language: I18N.datepickerLanguage
    });
    $('.appbuilder_date').datepicker({
        format: 'yyyy-mm-dd', language: I18N.datepickerLanguage,
        pickTime: false
    });
    $(".my_select2").select2(
        {placeholder: I18N.select, allowClear: true, theme: "bootstrap", language: I18N.select2}
    );
    $("select.ajax-select").each(function () { initAjaxSelect($(this)); });
    $(".my_select2.readonly").select2("readonly", true);
    loadSelectData();
    loadSelectDataSlave();
    $("a").tooltip({container: '.row', 'placement': 'bottom'});
});


$(".my_change").on("change", function (e) {
    var theForm = document.getElementById("model_form");
    theForm.action = "";
    theForm.method = "get";
    theForm.trigger('submit');
})


//---------------------------------------
// Bootstrap modal, javascript alert
//---------------------------------------
function ab_alert(text) {
    $('#modal-alert').on('show.bs.modal', function (e) {
            $('.modal-text').text(text);
        }
    );
    $('#modal-alert').modal('show');
};


//---------------------------------------
// Modal confirmation JS support
//---------------------------------------

// On link attr "data-text" is set to the modal text
$(function () {
    $(".confirm").on('click', function () {
        $('.modal-text').text($(this).data('text'));
    });
});

// If positive confirmation on model follow link
$('#modal-confirm').on('show.bs.modal', function (e) {
    $(this).find('#modal-confirm-ok').attr('href', $(e.relatedTarget).data('href'));
});



//---------------------------------------
// Reveal one sensitive value (the server logs who, what, when, from where)
//---------------------------------------
$(document).on('click', '.reveal-value', function () {
    var button = $(this);
    $.ajax({
        url: button.data('url'), method: 'POST',
        headers: {'X-CSRFToken': $('meta[name=csrf-token]').attr('content')},
        success: function (data) {
            button.siblings('span').text(data.value);
            button.remove();
            if (data.watermark && !document.querySelector('.watermark')) {  // who looked, and when
                var mark = document.createElement('div');
                mark.className = 'watermark';
                mark.setAttribute('aria-hidden', 'true');
                for (var i = 0; i < 60; i++) {
                    var line = document.createElement('span');
                    line.textContent = data.watermark;
                    mark.appendChild(line);
                }
                document.body.appendChild(mark);
            }
        },
        error: function (xhr) {
            var message = (xhr.responseJSON && xhr.responseJSON.message) || I18N.errorLoading;
            ab_alert(message);
        }
    });
});
