/* 捐赠查询: hash the typed transaction number in the browser, fetch one shard, compare.
   The same hash as site_builder/gifts.py::lookup_key. Nothing is sent anywhere but the shard's URL. */
(function () {
  "use strict";
  var form = document.getElementById("gift-form");
  if (!form) return;
  var out = document.getElementById("gift-result");
  var SALT = "xfjy-gift\n", PREFIX = 3, KEPT = 12;

  function yuan(fen) {
    var negative = fen < 0, whole = String(Math.floor(Math.abs(fen) / 100));
    var cents = String(Math.abs(fen) % 100).padStart(2, "0");
    return (negative ? "-" : "") + whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",") + "." + cents + " 元";
  }

  // summary.json's amounts ("12345.60") as the page shows them ("12,345.60 元")
  function yuanText(text) {
    var parts = String(text).split(".");
    return parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",") + "." + (parts[1] || "00") + " 元";
  }

  function line(parent, label, value) {
    var p = document.createElement("p");
    var strong = document.createElement("strong");
    strong.textContent = label + "：";
    p.appendChild(strong);
    p.appendChild(document.createTextNode(value));
    parent.appendChild(p);
    return p;
  }

  function say(text) {
    out.textContent = "";
    var p = document.createElement("p");
    p.textContent = text;
    out.appendChild(p);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    // the same folding as site_builder/gifts.py::typed: full-width → ASCII, no spaces, upper case
    var txn = form.elements.txn.value.normalize("NFKC").replace(/[\s\u200b-\u200f\u2060\ufeff]+/g, "").toUpperCase();
    if (!txn) { say("请输入交易号。"); return; }
    if (!window.crypto || !window.crypto.subtle) { say("您的浏览器不支持本查询，请通过 https 地址访问本网站，或换用较新的浏览器。"); return; }
    say("正在查询……");
    crypto.subtle.digest("SHA-256", new TextEncoder().encode(SALT + txn)).then(function (digest) {
      var hex = Array.prototype.map.call(new Uint8Array(digest), function (b) {
        return b.toString(16).padStart(2, "0");
      }).join("");
      return fetch(form.dataset.base + hex.slice(0, PREFIX) + ".json").then(function (response) {
        return response.ok ? response.json() : { gifts: [], projects: [] };
      }).then(function (shard) {
        var want = hex.slice(PREFIX, PREFIX + KEPT);
        var gift = shard.gifts.filter(function (g) { return g[0] === want; })[0];
        if (!gift) { say("没有找到这个交易号的捐赠。请核对交易号；新的捐赠在导入后的次日才能查到。"); return; }
        var where = shard.projects[gift[1]];  // [village code, project id, project code]
        // the project's figures: the village's own summary.json, which the site's audit checks against its page
        return fetch(form.dataset.base + "../village/" + where[0] + "/summary.json").then(function (response) {
          if (!response.ok) throw new Error(response.status);
          return response.json();
        }).then(function (summary) {
          var p = summary.projects.filter(function (x) { return x.code === where[2]; })[0];
          if (!p) throw new Error("no project");
          out.textContent = "";
          var box = document.createElement("div");
          box.className = "xfjy-gift-found";
          line(box, "捐赠", yuan(gift[2]) + "，" + gift[3] + (gift[4] ? "（已退回）" : ""));
          line(box, "项目", p.name + "（" + p.state + "）");
          line(box, "村社", summary.village.name);
          line(box, "该项目已筹", yuanText(p.raised_yuan));
          if (gift[5]) {
            line(box, "去向", "这笔捐赠在项目结项后到账，已转入本村社互助基金，按基金规定使用。");
          }
          line(box, "已拨付到村", yuanText(p.disbursed_yuan));
          line(box, "已支出", yuanText(p.spent_yuan));
          if (Number(p.to_fund_yuan) > 0) line(box, "转入村社互助基金", yuanText(p.to_fund_yuan) + "（未达成目标、超出目标或结项结余的善款）");
          line(box, "尚未使用", yuanText(p.unused_yuan));
          var more = document.createElement("p");
          var a = document.createElement("a");
          a.href = form.dataset.base + "../../village/" + where[0] + "/#p" + where[1];
          a.textContent = "查看这个项目逐级拨付、每笔支出和票据";
          more.appendChild(a);
          box.appendChild(more);
          out.appendChild(box);
        });
      });
    }).catch(function () { say("查询失败，请检查网络后重试。"); });
  });
})();
