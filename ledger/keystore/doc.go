// Package keystore keeps the per-person keys that seal personal data in
// the ledger, and the system's own secrets, in an embedded Pebble database
// of its own, apart from the event log.
//
// A new key is durable before CreateKey returns, or, after DeferSyncs,
// once SyncPending has returned: the embedded ledger calls it before it
// writes each batch of events, so that no event is on disk before its
// key, and the keys of a whole batch share one sync. A key created but
// never used may then be lost in a crash; no event refers to it.
//
// A Bloom filter of every key written (ledger/internal/keyfilter), built
// in the background from the store's tables once the first CreateKey
// comes, lets CreateKey skip the database lookup for a subject with no
// key, which is nearly every one it is asked for.
//
// Erasing a person deletes their key with a synced write, flushes the
// memtable and compacts the key's range, so the key is gone from every
// live file of the store; obsolete files are deleted, never recycled, so no
// old write-ahead log keeps it. What the file system or the disk keeps of
// deleted blocks is below what this package can reach: for that, keep the
// key store on an encrypted volume, or in a KMS in production. Backups of
// the key store must be short-lived, since a backup restores erased keys;
// backups of the event log hold only sealed data and may be kept forever.
package keystore
