// queue.js: the doses recorded on this device, in IndexedDB, until the
// server has them. Each keeps the event id it was given when the dose was
// recorded and the time it was given, so that sending it twice records it
// once, and a dose given at 10:00 and sent at 16:00 is a 10:00 dose.

const DB = "doseledger-vaccinator";
const STORE = "doses";

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: "event_id" });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function run(mode, fn) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const result = fn(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(result && "result" in result ? result.result : undefined);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

// add keeps an entry: { event_id, dose: {...the API's dose report}, label,
// state: "waiting" | "sent" | "flagged" | "refused", note }.
export function add(entry) {
  return run("readwrite", (s) => s.put(entry));
}

export function update(entry) {
  return run("readwrite", (s) => s.put(entry));
}

export function all() {
  return run("readonly", (s) => s.getAll());
}

// waiting returns the entries the server does not have yet.
export async function waiting() {
  return (await all()).filter((e) => e.state === "waiting");
}
