// The payment forms, made friendlier: the card's brand as it is typed, the number in groups,
// the card checked before it is sent, and a Pay button that cannot be pressed twice.
// The forms work without this script; the server checks everything again.
(function () {
  "use strict";

  var form = document.querySelector("form.card, form.wallet");
  if (!form) return;
  var button = form.querySelector("#pay");
  var error = document.getElementById("form-error");
  var number = form.querySelector("#card_number");

  var BRANDS = [
    [/^220[0-4]/, "Mir"],
    [/^(222[1-9]|22[3-9]\d|2[3-6]\d\d|27[01]\d|2720)/, "MasterCard"],
    [/^5[1-5]/, "MasterCard"],
    [/^35(2[89]|[3-8]\d)/, "JCB"],
    [/^3[47]/, "American Express"],
    [/^62/, "UnionPay"],
    [/^(50|5[6-9]|6[3-9])/, "Maestro"],
    [/^4/, "VISA"]
  ];

  function digits(value) {
    return value.replace(/\D/g, "");
  }

  function brandOf(value) {
    for (var i = 0; i < BRANDS.length; i++) {
      if (BRANDS[i][0].test(value)) return BRANDS[i][1];
    }
    return "";
  }

  function grouped(value, brand) {
    var sizes = brand === "American Express" ? [4, 6, 5] : [4, 4, 4, 4, 3];
    var parts = [];
    var at = 0;
    for (var i = 0; i < sizes.length && at < value.length; i++) {
      parts.push(value.slice(at, at + sizes[i]));
      at += sizes[i];
    }
    return parts.join(" ");
  }

  function luhn(value) {
    var sum = 0;
    for (var i = 0; i < value.length; i++) {
      var d = +value.charAt(value.length - 1 - i);
      if (i % 2 === 1) d = d > 4 ? d * 2 - 9 : d * 2;
      sum += d;
    }
    return value.length >= 12 && value.length <= 19 && sum % 10 === 0;
  }

  function expiryValid(month, year) {
    if (!/^\d{1,2}$/.test(month) || !/^(\d{2}|\d{4})$/.test(year)) return false;
    var m = +month;
    var y = year.length === 2 ? 2000 + +year : +year;
    var now = new Date();
    var thisMonth = now.getFullYear() * 12 + now.getMonth() + 1;
    return m >= 1 && m <= 12 && y * 12 + m >= thisMonth;
  }

  function show(message, field) {
    error.textContent = message;
    error.hidden = false;
    form.querySelectorAll("[aria-invalid]").forEach(function (input) {
      input.removeAttribute("aria-invalid");
    });
    if (field) {
      field.setAttribute("aria-invalid", "true");
      field.setAttribute("aria-describedby", "form-error");
      field.focus();
    }
  }

  if (number) {
    var badge = document.getElementById("brand");
    number.addEventListener("input", function () {
      var value = digits(number.value).slice(0, 19);
      var brand = brandOf(value);
      badge.textContent = brand;
      number.value = grouped(value, brand);
    });
  }

  form.addEventListener("submit", function (event) {
    if (form.dataset.sent) {
      event.preventDefault();
      return;
    }
    if (number) {
      var month = form.querySelector("#exp_month");
      var year = form.querySelector("#exp_year");
      var cvc = form.querySelector("#cvc");
      if (!luhn(digits(number.value))) {
        event.preventDefault();
        return show(form.dataset.number, number);
      }
      if (!expiryValid(month.value.trim(), year.value.trim())) {
        event.preventDefault();
        return show(form.dataset.expiry, month);
      }
      if (!/^\d{3,4}$/.test(cvc.value.trim())) {
        event.preventDefault();
        return show(form.dataset.cvc, cvc);
      }
    }
    form.dataset.sent = "1";
    button.disabled = true;
    button.textContent = form.dataset.paying;
  });
})();
