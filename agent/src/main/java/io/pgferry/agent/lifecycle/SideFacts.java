package io.pgferry.agent.lifecycle;

import io.pgferry.agent.migration.ReplicaIdentityChanges;
import java.util.List;
import java.util.Map;

/**
 * What one server holds of a migration, read from its catalogs (and, marked as such, from the agent's state
 * directory): the facts the lifecycle's phase is derived from (module_utils/lifecycle.py combines both sides and
 * PgBouncer). The same answer on either side: a server can be a source, a target, or both after a cutover.
 *
 * @param role whether role {@code pgferry_<m>} exists on this server
 * @param fenced whether the database carries pgferry's fence ({@code default_transaction_read_only = on})
 * @param forward the stream {@code pgferry_<m>} (source to target)
 * @param reverse the stream {@code pgferry_<m>_reverse} (after a cutover, target back to the old source)
 * @param userTables ordinary and partitioned root tables in the database's user schemas
 * @param wal how much WAL this server lets slots hold
 * @param state the migration's files in the agent's state directory (a help, never the phase on their own)
 */
public record SideFacts(String database, boolean databaseExists, boolean role, boolean fenced, Stream forward,
                        Stream reverse, int userTables, Wal wal, State state) {

    /** The publication, slot and subscription of one stream, as far as they are on this server. */
    public record Stream(String name, boolean publication, Slot slot, Subscription subscription) {
    }

    /**
     * A logical slot of the stream on this server (the publisher's side).
     *
     * @param database the database the slot belongs to (another one than asked is a conflict)
     * @param walStatus reserved, extended, unreserved (beyond max_slot_wal_keep_size: lost at the next
     *                  checkpoint) or lost (invalidated: the subscriber can never catch up)
     * @param lagBytes WAL the subscriber has not confirmed: current position minus confirmed_flush_lsn
     * @param retainedBytes WAL the slot keeps on disk: current position minus restart_lsn
     * @param safeWalSizeBytes WAL that can still be written before the slot is lost (null: unbounded)
     */
    public record Slot(boolean exists, String database, Boolean active, String walStatus, Long lagBytes,
                       Long retainedBytes, Long safeWalSizeBytes) {
        static final Slot NONE = new Slot(false, null, null, null, null, null, null);
    }

    /**
     * The stream's subscription in this database (the subscriber's side).
     *
     * @param workerPid the apply worker's pid; absent while it is not running
     * @param states how many of its tables are in each pg_subscription_rel state, by state name
     */
    public record Subscription(boolean exists, Boolean enabled, Integer workerPid, int tables, int ready,
                               Map<String, Integer> states) {
        static final Subscription NONE = new Subscription(false, null, null, 0, 0, Map.of());
    }

    /**
     * @param maxSlotWalKeepSizeBytes max_slot_wal_keep_size in bytes; -1 means slots hold WAL without limit
     * @param currentLsn this server's WAL position (absent on a standby)
     */
    public record Wal(long maxSlotWalKeepSizeBytes, String currentLsn) {
    }

    /**
     * @param archive a schema archive and manifest of the migration are here (source: made; target: received)
     * @param replicaIdentityChanges replica identities pgferry set here, with the originals cleanup restores
     */
    public record State(boolean archive, List<ReplicaIdentityChanges.Change> replicaIdentityChanges) {
    }
}
