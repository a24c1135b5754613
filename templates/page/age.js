  // ---- The data's age: run.finished against now, in the header's #data-age; past
  // D.max_age_days (runner/report/age.py MAX_AGE_DAYS, the one limit) it says the data is stale.
  {
    const out = document.getElementById("data-age");
    const finished = Date.parse(D.run.finished);
    if (out && !Number.isNaN(finished)) {
      const days = Math.max(0, (Date.now() - finished) / 86400000);
      const hours = Math.round(days * 24);
      const age = days < 1 ? `${hours} hour${hours === 1 ? "" : "s"}` : `${days.toFixed(1)} days`;
      const stale = days > D.max_age_days;
      out.dataset.stale = String(stale);
      out.textContent = "";
      if (stale) {
        const strong = document.createElement("strong");
        strong.textContent = "Stale data: ";
        out.append(strong);
      }
      out.append(
        stale
          ? `these results are ${age} old: the nightly publishes daily, and has not for more than ${D.max_age_days} days.`
          : `These results are ${age} old.`
      );
    }
  }
