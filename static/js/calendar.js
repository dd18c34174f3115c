/* The time grid (issue 13) over the calendar and day schedule pages' lists.
 *
 * Drawn by EventCalendar (static/vendor/event-calendar/) from the page's feed
 * (/calendar/feed/, sessions_app.calendar_feed). Without JavaScript the page is the list
 * it always was; the grid is shown only once it has loaded. The page hands its settings
 * in <script type="application/json" id="grid-config"> (the Content-Security-Policy runs
 * no inline script).
 *
 * Times: the feed gives clinic wall times without an offset ("2027-01-05T10:00:00"); the
 * calendar lays them out in the browser's own zone as they are. Read them back with the
 * local getters (getHours...), never toISOString() (UTC), and send them without an offset:
 * the server reads such a time as clinic time.
 *
 * Click an empty time: the "book this slot" page (choose the client; the booking form
 * comes filled in). Drag or resize a session: POST /api/sessions/<id>/reschedule/, the
 * same service as the session page's reschedule form (eligibility, clashes, hours). In
 * the day grid by esthetician (or by room) another column is another esthetician (room):
 * the drop sends it too, and the service checks them as for a new booking. A refusal puts
 * the session back and says why; a move offers "Undo" for a few seconds.
 */
(function () {
  "use strict";

  var UNDO_SECONDS = 8;
  var configElement = document.getElementById("grid-config");
  var section = document.querySelector("[data-grid]");
  if (!configElement || !section || !window.EventCalendar || !window.fetch) {
    return;
  }
  var config = JSON.parse(configElement.textContent);
  var host = section.querySelector("[data-grid-host]");
  var message = section.querySelector("[data-grid-message]");
  var undoButton = section.querySelector("[data-grid-undo]");
  var undoTimer = null;
  var undoMove = null;
  var calendar = null;
  var firstFeed = null;

  // Clinic wall times --------------------------------------------------------------
  function pad(number) {
    return String(number).padStart(2, "0");
  }
  function wallDate(moment) {
    return moment.getFullYear() + "-" + pad(moment.getMonth() + 1) + "-" + pad(moment.getDate());
  }
  function wallTime(moment) {
    return pad(moment.getHours()) + ":" + pad(moment.getMinutes());
  }
  function wall(moment) {
    return wallDate(moment) + "T" + wallTime(moment) + ":00";
  }
  function minutesBetween(start, end) {
    return Math.round((end.getTime() - start.getTime()) / 60000);
  }
  function spoken(moment) {
    return moment.toLocaleString([], {
      weekday: "short",
      month: "short",
      day: "numeric",
      hour: "numeric",
      minute: "2-digit",
    });
  }

  // What the grid says -------------------------------------------------------------
  function say(text, kind) {
    message.textContent = text;
    message.className = "grid-message" + (kind ? " grid-message-" + kind : "");
  }
  function hideUndo() {
    window.clearTimeout(undoTimer);
    undoTimer = null;
    undoMove = null;
    undoButton.hidden = true;
  }
  function offerUndo(move) {
    hideUndo();
    undoMove = move;
    undoButton.hidden = false;
    undoTimer = window.setTimeout(hideUndo, UNDO_SECONDS * 1000);
  }

  /* Every message in an error answer, in words: the API names the field at fault or the
   * clash ({"detail": ...}, {"start": [...]}, {"non_field_errors": [...]}). */
  function reasons(body) {
    var found = [];
    function collect(value) {
      if (typeof value === "string") {
        found.push(value);
      } else if (Array.isArray(value)) {
        value.forEach(collect);
      }
    }
    if (body && typeof body === "object") {
      if (body.detail) {
        collect(body.detail);
      }
      Object.keys(body).forEach(function (key) {
        if (key !== "detail" && key !== "clashes" && key !== "reasons") {
          collect(body[key]);
        }
      });
    }
    return found.join(" ");
  }

  // The feed -----------------------------------------------------------------------
  function feedUrl() {
    var query = new URLSearchParams({ start: config.start, end: config.end, by: config.by });
    if (config.esthetician) {
      query.set("esthetician", config.esthetician);
    }
    return config.feed + "?" + query.toString();
  }
  function loadFeed() {
    return fetch(feedUrl(), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    }).then(function (response) {
      if (!response.ok) {
        throw new Error("feed " + response.status);
      }
      return response.json();
    });
  }
  function events() {
    if (firstFeed) {
      var loaded = firstFeed.events;
      firstFeed = null;
      return Promise.resolve(loaded);
    }
    return loadFeed().then(function (feed) {
      return feed.events;
    });
  }

  // Drawing a session --------------------------------------------------------------
  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text) {
      node.textContent = text;
    }
    return node;
  }
  function content(info) {
    var props = info.event.extendedProps;
    if (props.type !== "session") {
      return { domNodes: [element("span", "grid-shade-label", props.label || "")] };
    }
    var nodes = [element("span", "grid-time", props.time), element("span", "grid-client", props.client)];
    var badges = element("span", "grid-badges");
    badges.appendChild(element("span", "badge status-" + props.status, props.statusLabel));
    badges.appendChild(element("span", "badge badge-" + props.eligibility, props.eligibilityLabel));
    if (props.confirmed) {
      badges.appendChild(element("span", "badge badge-confirmed", "Confirmed"));
    }
    if (props.bookedOnline) {
      badges.appendChild(element("span", "badge badge-muted", "Booked online"));
    }
    if (props.outsideHours) {
      badges.appendChild(element("span", "badge badge-outside", "Outside hours"));
    }
    nodes.push(badges);
    var where = config.by === "room" ? props.estheticianName : props.roomName;
    nodes.push(element("span", "grid-meta", where + " · " + props.device));
    if (props.outsideHours) {
      nodes.push(element("span", "grid-meta grid-outside", props.outsideHours));
    }
    if (props.confirmed) {
      nodes.push(element("span", "visually-hidden", props.confirmed));
    }
    // The column is not announced with the session: say whose (or which room's) it is.
    if (config.by !== "room") {
      nodes.push(element("span", "visually-hidden", "with " + props.estheticianName));
    } else {
      nodes.push(element("span", "visually-hidden", "in " + props.roomName));
    }
    return { domNodes: nodes };
  }

  // Booking and moving -------------------------------------------------------------
  function book(info) {
    var query = new URLSearchParams({ date: wallDate(info.date), time: wallTime(info.date) });
    if (info.resource && config.by === "room") {
      query.set("room", info.resource.id);
    } else if (info.resource) {
      query.set("esthetician", info.resource.id);
    }
    if (config.esthetician && !query.has("esthetician")) {
      query.set("esthetician", config.esthetician);
    }
    window.location.assign(config.book + "?" + query.toString());
  }

  function reschedule(sessionId, body) {
    return fetch(config.reschedule.replace("/0/", "/" + sessionId + "/"), {
      method: "POST",
      credentials: "same-origin",
      headers: {
        Accept: "application/json",
        "Content-Type": "application/json",
        "X-CSRFToken": config.csrfToken,
      },
      body: JSON.stringify(body),
    }).then(
      function (response) {
        return response
          .json()
          .catch(function () {
            return {};
          })
          .then(function (answer) {
            return { ok: response.ok, answer: answer };
          });
      },
      function () {
        return {
          ok: false,
          answer: { detail: "The clinic's server could not be reached; nothing was changed." },
        };
      }
    );
  }

  /* "with Jo Park" or "in Cedar room": whose (or which room's) column it is. */
  function column(title) {
    return (config.by === "room" ? "in " : "with ") + title;
  }

  function moved(info, resized) {
    var event = info.event;
    var props = event.extendedProps;
    var old = info.oldEvent;
    var body = { start: wall(event.start) };
    var back = { start: wall(old.start) };
    if (resized) {
      body.minutes = minutesBetween(event.start, event.end);
      back.minutes = minutesBetween(old.start, old.end);
    }
    // Another column: another esthetician (or room), sent for the service to check.
    var across = Boolean(info.newResource && config.moveAcross);
    if (across) {
      body[config.by] = Number(info.newResource.id);
      back[config.by] = Number(info.oldResource.id);
    }
    hideUndo();
    say("Moving " + props.client + "…");
    reschedule(props.session, body).then(function (result) {
      if (!result.ok) {
        info.revert();
        var stays = (across ? column(info.oldResource.title) + " " : "") + "at " + spoken(old.start);
        say(
          "Not moved: " + (reasons(result.answer) || "the clinic refused the change.") +
            " " + props.client + " stays " + stays + ".",
          "refused"
        );
        return;
      }
      var what = resized ? " now ends " + wallTime(event.end) : " moved to " + spoken(event.start);
      if (across) {
        what = " moved to " + info.newResource.title + ", " + spoken(event.start);
      }
      say(props.client + what + ". The client gets the new time by email.", "done");
      offerUndo({
        session: props.session,
        body: back,
        client: props.client,
        when: old.start,
        where: across ? info.oldResource.title : "",
      });
      calendar.refetchEvents();
      refreshList();
    });
  }

  /* The list below the grid (and the count above it) was drawn by the server with the
   * page: after a move, the page is fetched again and they are put in anew, so the list
   * and the grid say the same. Nothing else on the page changes; scripts stay as they are. */
  function twins(here, there) {
    var found = [];
    var a = here.previousElementSibling;
    var b = there.previousElementSibling;
    if (a && b && a.tagName === "P" && b.tagName === "P") {
      found.push([a, b]); // "3 sessions on ..."
    }
    a = here.nextElementSibling;
    b = there.nextElementSibling;
    while (a && b && a.tagName === b.tagName) {
      if (a.tagName !== "SCRIPT") {
        found.push([a, b]);
      }
      a = a.nextElementSibling;
      b = b.nextElementSibling;
    }
    return found;
  }
  function refreshList() {
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("page " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("[data-grid]");
        if (!fresh) {
          return;
        }
        twins(section, fresh).forEach(function (pair) {
          pair[0].replaceWith(document.importNode(pair[1], true));
        });
      })
      .catch(function () {
        // The grid is right; the list catches up on the next visit.
      });
  }

  function undo() {
    var move = undoMove;
    if (!move) {
      return;
    }
    hideUndo();
    reschedule(move.session, move.body).then(function (result) {
      if (!result.ok) {
        say("Could not move it back: " + (reasons(result.answer) || "refused."), "refused");
        return;
      }
      var where = move.where ? " " + column(move.where) : "";
      say(move.client + " is back" + where + " at " + spoken(move.when) + ".", "done");
      calendar.refetchEvents();
      refreshList();
    });
  }

  // The grid -----------------------------------------------------------------------
  /* EventCalendar marks its grid up as an ARIA table whose rows also hold the events and
   * the toolbar, which a table may not own (axe: aria-required-children, critical). The
   * grid is a picture of the day for pointer users; the list below it is the structured
   * path (and the keyboard's, with the session pages). So the table roles go, and each
   * session stays a button that says who, when, where and with whom. EventCalendar sets
   * roles again when it redraws: an observer takes them off each time. */
  var TABLE_ROLES = ["table", "rowgroup", "row", "columnheader", "rowheader", "cell", "gridcell"];
  var TABLE_ATTRIBUTES = ["aria-colindex", "aria-colspan", "aria-rowindex", "aria-rowspan"];
  function flatten() {
    host.querySelectorAll("[role]").forEach(function (node) {
      if (TABLE_ROLES.indexOf(node.getAttribute("role")) >= 0) {
        node.removeAttribute("role");
      }
    });
    TABLE_ATTRIBUTES.forEach(function (name) {
      host.querySelectorAll("[" + name + "]").forEach(function (node) {
        node.removeAttribute(name);
      });
    });
  }
  new MutationObserver(flatten).observe(host, {
    subtree: true,
    childList: true,
    attributes: true,
    attributeFilter: ["role"].concat(TABLE_ATTRIBUTES),
  });

  function create(feed) {
    var resourceView = config.view.indexOf("resource") === 0;
    var options = {
      view: config.view,
      date: config.date,
      firstDay: 1,
      headerToolbar: { start: "", center: "", end: "" },
      allDaySlot: false,
      slotDuration: "00:15",
      slotLabelInterval: "01:00",
      // px a quarter hour: room for time, client, badges, room and device (narrower
      // columns in a week wrap more lines).
      slotHeight: config.view === "timeGridWeek" ? 40 : 30,
      slotMinTime: feed.slotMinTime,
      slotMaxTime: feed.slotMaxTime,
      scrollTime: feed.slotMinTime,
      height: "auto",
      nowIndicator: true,
      timeZone: config.utcOffset, // the clinic's "now" and "today", whatever the browser's zone
      dayHeaderFormat: { weekday: "short", month: "short", day: "numeric" },
      eventSources: [{ events: events }],
      eventContent: content,
      eventClick: function (info) {
        var url = info.event.extendedProps.url;
        if (url) {
          window.location.assign(url);
        }
      },
      editable: Boolean(config.reschedule),
      eventStartEditable: Boolean(config.reschedule),
      eventDurationEditable: Boolean(config.reschedule && config.resize),
      dragConstraint: function (info) {
        // Another column is another esthetician or room: only where the service takes it.
        return !info.newResource || config.moveAcross;
      },
      eventDrop: function (info) {
        moved(info, false);
      },
      eventResize: function (info) {
        moved(info, true);
      },
    };
    if (resourceView) {
      options.resources = feed.resources;
    }
    if (config.book) {
      options.dateClick = book;
    }
    calendar = window.EventCalendar.create(host, options);
  }

  undoButton.addEventListener("click", undo);
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      window.print();
    });
  });

  loadFeed().then(
    function (feed) {
      firstFeed = feed;
      section.hidden = false;
      create(feed);
    },
    function () {
      section.hidden = false;
      say("The time grid could not be loaded; the list below has every session.", "refused");
    }
  );
})();
