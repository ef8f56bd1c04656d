/* 核验历史: show the published head (data/history/head.json) in words. */
(function () {
  "use strict";
  var box = document.getElementById("history-head");
  if (!box || !window.fetch) return;
  fetch("../data/history/head.json").then(function (r) { return r.ok ? r.json() : null; }).then(function (head) {
    if (!head) return;
    box.textContent = "本网站当前的公开历史共 " + head.seq + " 条记录，最后一条的哈希是 " + head.hash +
      "，数据时间 " + head.at.replace("T", " ") + "。请记下或保存这个哈希，日后与新的网站对照。";
  }).catch(function () {});
})();
