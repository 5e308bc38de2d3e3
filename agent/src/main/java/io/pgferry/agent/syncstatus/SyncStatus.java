package io.pgferry.agent.syncstatus;

import java.util.List;

/**
 * How far the subscription's initial copy has come, and how far behind the source its apply worker is.
 *
 * @param percent tables ready out of all, 0-100, rounded down so 100 means every table is ready
 * @param allReady every table is ready: the copy is over and changes stream
 * @param ownCopy pgferry's own copy (the copy step), while it runs or once it ran; absent with native table sync
 * @param errors the subscription's workers' errors so far (PostgreSQL 15 and later; absent before)
 */
public record SyncStatus(ApplyWorker subscription, List<TableSync> tables, int ready, int total, int percent,
                         boolean allReady, OwnCopy ownCopy, Errors errors) {

    /**
     * How often the subscription's workers failed ({@code pg_stat_subscription_stats}). PostgreSQL starts a failed
     * worker again and again: a count that keeps growing is a stream that stopped.
     *
     * @param apply errors of the apply worker
     * @param sync errors of table sync workers
     * @param lastApplyError the apply worker's last error as the server log has it, with the change it was applying
     *                       (when the count is not 0 and the agent may read the log); else why it could not be read
     */
    public record Errors(long apply, long sync, String lastApplyError) {
    }

    /**
     * The copy step's state: before its subscription exists, its tables are listed here with the codes of table
     * sync, {@code i} pending, {@code d} copying, {@code f} rows committed, {@code s} keys and indexes built; once the
     * subscription exists they are {@code r} like any other.
     *
     * @param status {@code copying}, {@code copied}, {@code done} or {@code failed} (the copy's state file)
     */
    public record OwnCopy(String status, boolean running, String phase, Long bytesTotal, Long bytesDone,
                          Double etaSeconds) {
    }

    /**
     * The subscription and its apply worker; the worker's fields are absent while it is not running.
     *
     * @param lagSeconds seconds since the source last confirmed a position to the worker (messages, keepalives)
     */
    public record ApplyWorker(String name, boolean exists, boolean enabled, Integer pid, String receivedLsn,
                              String latestEndLsn, String lastMsgReceiptTime, Double lagSeconds) {
    }

    /**
     * One table of the subscription. The byte and tuple counters come from pg_stat_progress_copy and are present
     * only while the table is being copied.
     *
     * @param state pg_subscription_rel.srsubstate: i, d, f, s or r
     * @param stateName initialize, data_copy, finished_copy, synchronized or ready
     */
    public record TableSync(String schema, String name, String state, String stateName, Long bytesProcessed,
                            Long bytesTotal, Long tuplesProcessed) {
    }

    public static String stateName(String state) {
        return switch (state) {
            case "i" -> "initialize";
            case "d" -> "data_copy";
            case "f" -> "finished_copy";
            case "s" -> "synchronized";
            case "r" -> "ready";
            default -> "unknown";
        };
    }
}
