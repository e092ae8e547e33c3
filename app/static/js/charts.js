/* Draw a declared chart (app.charts) with the ECharts served by the app: Chinese locale,
   a CJK font stack, a toolbox to save the picture. */
(function () {
  'use strict';
  var FONT = '"PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "Source Han Sans SC", sans-serif';
  window.hongseChart = function (box, data, words) {
    if (!box || !window.echarts) { return null; }
    var chart = echarts.init(box, null, {locale: 'ZH', renderer: 'canvas'});
    var pie = data.kind === 'pie';
    var series = data.series.map(function (s) {
      if (pie) {
        return {name: s.name, type: 'pie', radius: '65%',
                data: data.categories.map(function (c, i) { return {name: c, value: s.data[i]}; })};
      }
      return {name: s.name, type: data.kind, data: s.data, stack: data.stacked ? 'all' : undefined,
              emphasis: {focus: 'series'}};
    });
    chart.setOption({
      textStyle: {fontFamily: FONT},
      tooltip: {trigger: pie ? 'item' : 'axis'},
      legend: {show: data.series.length > 1 || pie, type: 'scroll'},
      toolbox: {feature: {saveAsImage: {title: words.save, pixelRatio: 2}}},
      grid: {left: 40, right: 20, bottom: 60, containLabel: true},
      xAxis: pie ? undefined : {type: 'category', data: data.categories, axisLabel: {interval: 0, rotate: data.categories.length > 8 ? 30 : 0}},
      yAxis: pie ? undefined : {type: 'value'},
      series: series,
      animation: false
    });
    window.addEventListener('resize', function () { chart.resize(); });
    return chart;
  };
})();
