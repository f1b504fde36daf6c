/* jobdesk admin: the dashboard refreshes in place from its JSON, and a job list refreshes its
   rows while it shows pending jobs. No framework, no build step, nothing from elsewhere. */
"use strict";
(function () {
  const SVG = "http://www.w3.org/2000/svg";
  // The chart's geometry, as jobs/templatetags/jobdesk_admin.py draws it first.
  const BAR_STEP = 20, BAR_WIDTH = 14, BARS_HEIGHT = 100, AXIS_HEIGHT = 16;
  const SERIES = ["succeeded", "failed", "cancelled"];

  function every(seconds, tick) {
    const wait = Math.max(1, Number(seconds) || 10) * 1000;
    const again = () => window.setTimeout(run, wait);
    async function run() {
      if (!document.hidden) {
        try {
          if ((await tick()) === false) return;
        } catch (error) {
          // A failed refresh leaves the page as it is; the next one tries again.
        }
      }
      again();
    }
    again();
  }

  async function fetchOk(url, accept) {
    const response = await fetch(url, {credentials: "same-origin", headers: {Accept: accept}});
    if (!response.ok || response.redirected) throw new Error(`refresh answered ${response.status}`);
    return response;
  }

  // -- The dashboard --

  function setCell(link, cell) {
    link.textContent = String(cell.count);
    link.href = cell.url;
    link.classList.toggle("jd-zero", cell.count === 0);
    if (link.dataset.jdCell.endsWith(":stuck")) link.parentElement.classList.toggle("jd-stuck", cell.count > 0);
  }

  function fillTable(table, data) {
    const body = table.tBodies[0];
    const rows = data.rows.map((items) => {
      const row = document.createElement("tr");
      for (const item of items) {
        const cell = row.insertCell();
        if (item.href) {
          const link = document.createElement("a");
          link.href = item.href;
          link.textContent = item.text;
          cell.append(link);
        } else {
          cell.textContent = item.text;
        }
      }
      return row;
    });
    if (!rows.length) {
      const row = document.createElement("tr");
      row.className = "jd-empty";
      const cell = row.insertCell();
      cell.colSpan = data.headers.length;
      cell.textContent = data.empty;
      rows.push(row);
    }
    body.replaceChildren(...rows);
  }

  function svgElement(name, attributes) {
    const element = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
    return element;
  }

  function drawChart(svg, hours) {
    const width = BAR_STEP * hours.length;
    const tallest = Math.max(1, ...hours.map((h) => h.succeeded + h.failed + h.cancelled));
    const children = hours.map((hour, index) => {
      const group = svgElement("g", {class: "jd-hour"});
      const title = svgElement("title", {});
      title.textContent = hour.label;
      group.append(title);
      let top = BARS_HEIGHT;
      for (const series of SERIES) {
        const height = (BARS_HEIGHT * hour[series]) / tallest;
        top -= height;
        group.append(svgElement("rect", {
          class: `jd-bar-${series}`, x: index * BAR_STEP + (BAR_STEP - BAR_WIDTH) / 2,
          y: top.toFixed(2), width: BAR_WIDTH, height: height.toFixed(2),
        }));
      }
      return group;
    });
    children.push(svgElement("line", {x1: 0, y1: BARS_HEIGHT, x2: width, y2: BARS_HEIGHT, class: "jd-baseline"}));
    hours.forEach((hour, index) => {
      if (index % 6) return;
      const label = svgElement("text", {x: index * BAR_STEP + BAR_STEP / 2, y: BARS_HEIGHT + AXIS_HEIGHT - 3, class: "jd-axis"});
      label.textContent = `${hour.start.slice(11, 13)}:00`;
      children.push(label);
    });
    svg.setAttribute("viewBox", `0 0 ${width} ${BARS_HEIGHT + AXIS_HEIGHT}`);
    svg.replaceChildren(...children);
  }

  function applyDashboard(root, data) {
    const tables = new Map();
    for (const family of data.families) {
      for (const [key, cell] of Object.entries(family.cells)) {
        const link = root.querySelector(`[data-jd-cell="${CSS.escape(key)}"]`);
        if (link) setCell(link, cell);
      }
      const chart = root.querySelector(`[data-jd-chart="${CSS.escape(family.name)}"]`);
      if (chart) drawChart(chart, family.hours);
      for (const table of family.tables) tables.set(table.key, table);
    }
    if (data.workers) tables.set(data.workers.key, data.workers);
    for (const table of root.querySelectorAll("table[data-jd-table]")) {
      const fresh = tables.get(table.dataset.jdTable);
      if (fresh) fillTable(table, fresh);
    }
    root.dataset.refreshedAt = data.generated_at;
    root.dataset.refreshes = String(Number(root.dataset.refreshes || 0) + 1);
  }

  function liveDashboard(root) {
    every(root.dataset.refreshSeconds, async () => {
      const response = await fetchOk(root.dataset.source, "application/json");
      applyDashboard(root, await response.json());
    });
  }

  // -- A job list: refresh the shown rows in place while any of them is pending --

  function rowKey(row) {
    const link = row.querySelector("th a");
    return link ? link.getAttribute("href") : null;
  }

  function refreshRows(table, fresh) {
    const freshRows = new Map(Array.from(fresh.tBodies[0].rows, (row) => [rowKey(row), row]));
    const rows = Array.from(table.tBodies[0].rows);
    for (const row of rows) {
      const newer = freshRows.get(rowKey(row));
      if (!newer || newer.cells.length !== row.cells.length) continue;
      // The checkbox cell stays: Django's actions keep their hold on it.
      for (let index = 0; index < row.cells.length; index++) {
        if (!row.cells[index].classList.contains("action-checkbox")) {
          row.cells[index].replaceWith(document.importNode(newer.cells[index], true));
        }
      }
    }
    const same = rows.length === freshRows.size && rows.every((row) => freshRows.has(rowKey(row)));
    return same;
  }

  function liveList(note) {
    const table = document.getElementById("result_list");
    if (!table || !table.querySelector(".jd-badge-pending")) return;
    note.hidden = false;
    every(note.dataset.refreshSeconds, async () => {
      if (!table.querySelector(".jd-badge-pending")) {
        note.hidden = true;
        return false;
      }
      // An operator choosing jobs for an action keeps the rows as they are.
      if (table.querySelector("input.action-select:checked")) return true;
      const response = await fetchOk(window.location.href, "text/html");
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = page.getElementById("result_list");
      if (!fresh) return true;
      const same = refreshRows(table, fresh);
      document.getElementById("jobdesk-list-changed").hidden = same;
      table.dataset.refreshes = String(Number(table.dataset.refreshes || 0) + 1);
      return true;
    });
  }

  function start() {
    const dashboard = document.getElementById("jobdesk-dashboard");
    if (dashboard) liveDashboard(dashboard);
    const note = document.getElementById("jobdesk-list-refresh");
    if (note) liveList(note);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
