// The bridge's test cases: the page runs them by itself on load (no driver can share the
// attached browser). Each call is on a line marked `case: NAME`; the test reads the marks.
const api = location.origin.replace("localhost", "127.0.0.1") + "/api/";

function xhr(name) {
  return new Promise((done) => {
    const request = new XMLHttpRequest();
    request.open("GET", api + name);
    request.onloadend = done;
    request.send(); // case: xhr-allowed
  });
}

async function run() {
  const attempts = [
    fetch(api + "allowed"), // case: allowed
    fetch(api + "missing"), // case: missing
    fetch(api + "wildcard", { credentials: "include" }), // case: wildcard
    fetch(api + "preflight-fails", { method: "PUT" }), // case: preflight-fails
    fetch(api + "preflight-passes", { method: "PUT" }), // case: preflight-passes
    xhr("xhr-allowed"),
  ];
  await Promise.allSettled(attempts);
  await fetch(api + "done").catch(() => null); // case: done
}

run();
