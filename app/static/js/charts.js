/* Draw a declared chart (app.charts) with the ECharts served by the app: Chinese locale,
   a CJK font stack, a toolbox to save the picture. options.dark: the 大屏's dark theme and
   large type. Charts follow the window's size, and the paper's when printed. */
(function () {
  'use strict';
  var FONT = '"PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", sans-serif';
  var drawn = [];
  window.hongseChart = function (box, data, words, options) {
    if (!box || !window.echarts) { return null; }
    options = options || {};
    var dark = !!options.dark;
    var size = dark ? 16 : 12;
    var chart = echarts.init(box, dark ? 'dark' : null, {locale: 'ZH', renderer: 'canvas'});
    var pie = data.kind === 'pie';
    var across = data.kind === 'hbar';
    var series = data.series.map(function (s) {
      if (pie) {
        return {name: s.name, type: 'pie', radius: '62%', label: {fontSize: size},
                data: data.categories.map(function (c, i) { return {name: c, value: s.data[i]}; })};
      }
      var one = {name: s.name, type: across ? 'bar' : data.kind, data: s.data,
                 stack: data.stacked ? 'all' : undefined, emphasis: {focus: 'series'}};
      if (s.color) { one.itemStyle = {color: s.color}; one.lineStyle = {color: s.color}; }
      return one;
    });
    var categoryAxis = {type: 'category', data: data.categories, inverse: across,
                        axisLabel: {fontSize: size, interval: 0,
                                    rotate: (!across && data.categories.length > 8) ? 30 : 0}};
    var whole = data.series.every(function (s) { return s.data.every(function (v) { return v === Math.round(v); }); });
    var valueAxis = {type: 'value', minInterval: whole ? 1 : 0, axisLabel: {fontSize: size}};
    chart.setOption({
      backgroundColor: dark ? 'transparent' : undefined,
      textStyle: {fontFamily: FONT, fontSize: size},
      tooltip: {trigger: pie ? 'item' : 'axis'},
      legend: {show: data.series.length > 1 || pie, type: 'scroll', textStyle: {fontSize: size}},
      toolbox: dark ? undefined : {feature: {saveAsImage: {title: words.save, pixelRatio: 2, name: data.title}}},
      grid: {left: 10, right: 20, top: 36, bottom: 10, containLabel: true},
      xAxis: pie ? undefined : (across ? valueAxis : categoryAxis),
      yAxis: pie ? undefined : (across ? categoryAxis : valueAxis),
      series: series,
      animation: false
    });
    drawn.push(chart);
    return chart;
  };
  function resizeAll() { drawn.forEach(function (c) { c.resize(); }); }
  window.addEventListener('resize', resizeAll);
  window.addEventListener('beforeprint', resizeAll);
  window.addEventListener('afterprint', resizeAll);
  if (window.matchMedia) {  // the print layout is ready when the print media query applies
    var print = window.matchMedia('print');
    if (print.addEventListener) { print.addEventListener('change', resizeAll); }
  }
})();
