// Flask-Admin 2.2.1's admin/js/bs4_filters.js (BSD 3-Clause License, Copyright (c) 2014,
// Serge S. Koval and contributors), loaded by templates/dashboard/list.html instead of the
// original, with these changes. Two because column names and comments come from the
// database and are untrusted:
//   - a filter's name (a column's label) is appended as a text node: the original passes
//     the string to jQuery's append(), which parses anything that looks like markup, so a
//     column named <a href=//evil.example style=position:fixed;inset:0> laid a link over
//     the whole page;
//   - the header tooltips (a column's comment) are text, not HTML.
// And the dashboard's own (dashboard/web/filter_bar.py says what the server makes of them):
//   - the filter data is compact (every operation label, input type and option list sent
//     once) and decoded by decodeGroups();
//   - each filter has an "any of these" box: ticked, the filter joins the OR group and its
//     input's name becomes flt<n>_or-<arg>;
//   - "in list" is a text area (one value a line);
//   - a date or time typed or pasted into a picker's input stays as typed (keepTyped()).
var AdminFilters = function(element, filtersElement, filterGroups, activeFilters, words) {
    var $root = $(element);
    var $container = $('.filters', $root);
    var lastCount = 0;

    function getCount(name) {
        var idx = name.indexOf('_');

        if (idx === -1) {
            return 0;
        }

        return parseInt(name.substr(3, idx - 3), 10);
    }

    // The name of a row's input: its position, "or-" when it is in the OR group, the operation's arg.
    function nameFor($row, arg) {
        var any = $row.find('input.filter-any').prop('checked');
        return 'flt' + $row.data('position') + '_' + (any ? 'or-' : '') + arg;
    }

    function showApply() {
        $('button', $root).removeClass('d-none');
    }

    function removeFilter() {
        $(this).closest('tr').remove();
        if($('.filters tr').length == 0) {
            $('button', $root).addClass('d-none');
            $('.filters tbody').remove();
        } else {
            showApply();
        }

        return false;
    }

    // triggered when the filter operation (equal, not equal, etc) is changed
    function changeOperation(subfilters, $el, $select) {
        // get the filter_group subfilter based on the index of the selected option
        var selectedFilter = subfilters[$select.select2('data').element[0].index];

        // recreate and style the input field (turn into date range or select2 if necessary)
        var $field = createFilterInput($el, null, selectedFilter);
        styleFilterInput(selectedFilter, $field);

        showApply();
    }

    // generate HTML for filter input - allows changing filter input type to one with options or tags
    function createFilterInput($row, filterValue, filter) {
        var $field;
        if (filter.type == "select2-tags") {
            $field = $('<input type="hidden" class="filter-val form-control" />');
            $field.val(filterValue);
        } else if (filter.options) {
            $field = $('<select class="filter-val" />');

            $(filter.options).each(function() {
                // for active filter inputs with options, add "selected" if there is a matching active filter
                var $option = $('<option/>').val(this[0]).text(this[1]);
                if (filterValue && (filterValue == this[0])) {
                    $option.attr('selected', true);
                }
                $field.append($option);
            });
        } else if (filter.type == "list") {
            $field = $('<textarea class="filter-val form-control" rows="3" />');
            $field.val(filterValue);
        } else {
            $field = $('<input type="text" class="filter-val form-control" />');
            $field.val(filterValue);
        }
        $field.attr('name', nameFor($row, filter.arg));
        $row.data('arg', filter.arg);
        $row.find('td.filter-input').replaceWith($('<td class="filter-input"/>').append($field));
        $row.data('field', $field);

        // show "Apply Filter" button when filter input is changed
        $field.on('input change', showApply);

        return $field;
    }

    // The picker wrote its own reading of the text back into the input: on every key
    // (typing "2" gave "0002-01-01") and when it closed, where a datetime picker opened on an
    // empty input had already chosen "now", so a typed or pasted date became the current
    // time. Here the text is the operator's: the calendar follows it when it reads as a
    // date, and the picker writes only what is chosen in it.
    function keepTyped($field) {
        var picker = $field.data('daterangepicker');
        if (!picker) {
            return;
        }
        var typed = false;

        function parse(text) {
            var formats = [picker.format, 'YYYY-MM-DD HH:mm', 'YYYY-MM-DD', 'HH:mm'];
            var read = moment($.trim(text), formats, true);
            return read.isValid() ? read : null;
        }

        function readText() {
            var text = $.trim($field.val());
            var parts = picker.singleDatePicker ? [text, text] : text.split(picker.separator);
            if (!text || parts.length != 2) {
                return;
            }
            var start = parse(parts[0]), end = parse(parts[1]);
            if (start && end && !end.isBefore(start)) {
                picker.startDate = start;
                picker.endDate = end;
                picker.updateView();
                picker.updateCalendars();
            }
        }

        $field.off('keyup.daterangepicker');
        $field.on('paste', function() { typed = true; });
        $field.on('input', function() { typed = true; readText(); });
        picker.container.on('mousedown', function() { typed = false; });
        var hide = picker.hide;
        picker.hide = function() {
            if (typed && this.isShowing) {
                readText();
                // Nothing changed as far as the picker knows: it writes nothing back.
                this.oldStartDate = this.startDate.clone();
                this.oldEndDate = this.endDate.clone();
                typed = false;
            }
            return hide.apply(this, arguments);
        };
    }

    // add styling to input field, accommodates filters that change the input field's HTML
    function styleFilterInput(filter, field) {
        if (filter.type == "list") {
            return field;
        }
        if (filter.type) {
            if ((filter.type == "datepicker") || (filter.type == "daterangepicker")) {
                field.attr('data-date-format', "YYYY-MM-DD");
            } else if ((filter.type == "datetimepicker") || (filter.type == "datetimerangepicker")) {
                field.attr('data-date-format', "YYYY-MM-DD HH:mm:ss");
            } else if ((filter.type == "timepicker")  || (filter.type == "timerangepicker")) {
                field.attr('data-date-format', "HH:mm:ss");
            } else if (filter.type == "select2-tags") {
                var options = [];
                if (filter.options) {
                    filter.options.forEach(function(option) {
                        options.push({id:option[0], text:option[1]});
                    });
                    // save tag options as json on data attribute
                    field.attr('data-tags', JSON.stringify(options));
                }
            }
            faForm.applyStyle(field, filter.type);
            keepTyped(field);
        } else if (filter.options) {
            faForm.applyStyle(field, "select2");
        }

        return field;
    }

    function addFilter(name, subfilters, selectedIndex, filterValue, anyOf) {
        var $el = $('<tr class="form-horizontal" />').appendTo($container);
        $el.data('position', lastCount);
        lastCount += 1;

        // Filter list
        $el.append(
            $('<td/>').append(
                $('<a href="#" class="btn btn-secondary remove-filter" />')
                    .append($('<span class="close-icon">&times;</span>'))
                    .append('&nbsp;')
                    .append(document.createTextNode(name))
                    .click(removeFilter)
                )
        );

        // Filter operation <select> (equal, not equal, etc)
        var $select = $('<select class="filter-op" />');

        // if one of the subfilters are selected, use that subfilter to create the input field
        var filterSelection = 0;
        $.each(subfilters, function( subfilterIndex, subfilter ) {
            var $option = $('<option/>').attr('value', subfilter.arg).text(subfilter.operation);
            if (this.index == selectedIndex) {
                $option.attr('selected', true);
                filterSelection = subfilterIndex;
            }
            $select.append($option);
        });

        $el.append(
            $('<td/>').append($select)
        );

        // select2 for filter-op (equal, not equal, etc)
        $select.select2({width: 'resolve'}).on("change", function(e) {
            changeOperation(subfilters, $el, $select);
        });

        $el.append($('<td class="filter-input"/>'));

        // "any of these": the filter joins the OR group (a box with no name: it is not sent)
        var $any = $('<input type="checkbox" class="filter-any" />').prop('checked', !!anyOf);
        $any.on('change', function() {
            $el.data('field').attr('name', nameFor($el, $el.data('arg')));
            showApply();
        });
        $el.append($('<td class="filter-any-cell"/>').append(
            $('<label class="small text-nowrap ml-2 mb-0" />').append($any).append(' ').append(document.createTextNode(words.any || ''))
        ));

        // get filter option from filter_group, only for new filter creation
        var filter = subfilters[filterSelection];

        var $newFilterField = createFilterInput($el, filterValue, filter).focus();
        return styleFilterInput(filter, $newFilterField);
    }

    // The "Add Filter" menu: one entry per column of filterGroups, made here (the page names
    // each column once, in the filter bar's data, instead of a second time as a link).
    // textContent: a column's name is text.
    $(filtersElement).each(function() {
        var menu = this;
        if (menu.querySelector('a.filter')) { return; }
        Object.keys(filterGroups).forEach(function(name) {
            var item = document.createElement('a');
            item.href = '#';
            item.setAttribute('role', 'button');
            item.className = 'dropdown-item filter';
            item.setAttribute('data-dashboard-no-follow', '');
            item.textContent = name;
            menu.appendChild(item);
        });
    });

    // Add Filter Button, new filter
    $('a.filter', filtersElement).click(function() {
        var name = ($(this).text().trim !== undefined ? $(this).text().trim() : $(this).text().replace(/^\s+|\s+$/g,''));

        addFilter(name, filterGroups[name], false, null, false);

        showApply();
    });

    $('.filter-val', $root).not('.select2-container').each(function() {
        var count = getCount($(this).attr('name'));
        if (count >= lastCount)
            lastCount = count + 1;
    });

    // on page load - add active filters: [index, name, value, 1 when in the OR group]
    $.each(activeFilters, function( activeIndex, activeFilter ) {
        addFilter(activeFilter[1], filterGroups[activeFilter[1]], activeFilter[0], activeFilter[2], activeFilter[3] == 1);
    });

    $('.remove-filter', $root).click(removeFilter);
};

// The compact filter data (dashboard/web/filter_bar.py groups_data) as Flask-Admin's script had it:
// {name: [{index, arg, operation, options, type}]}; and the words of the bar.
function decodeGroups(data) {
    var groups = {};
    $.each(data.g, function(name, operations) {
        groups[name] = operations.map(function(op) {
            return {
                index: op[0],
                operation: data.l[op[1]],
                type: op[2] ? data.t[op[2] - 1] : null,
                options: op[3] ? data.o[op[3] - 1] : null,
                arg: op[4] || String(op[0])
            };
        });
    });
    return groups;
}

(function($) {
    $('[data-role=tooltip]').tooltip({
        html: false,
        placement: 'bottom'
    });
    $(document).on('adminFormReady', function(evt){
        if ($('#filter-groups-data').length == 1) {
            var data = JSON.parse($('#filter-groups-data').text());
            var filter = new AdminFilters(
                '#filter_form', '.field-filters',
                decodeGroups(data),
                JSON.parse($('#active-filters-data').text()),
                data.w || {}
            );
        }
    });
    $(document).trigger('adminFormReady');  // trigger event to allow dynamic filter form to function properly
})(jQuery);
