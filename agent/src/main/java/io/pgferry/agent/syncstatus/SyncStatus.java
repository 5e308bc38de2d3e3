package io.pgferry.agent.syncstatus;

import java.util.List;

/**
 * How far the subscription's initial copy has come, and how far behind the source its apply worker is.
 *
 * @param percent tables ready out of all, 0-100, rounded down so 100 means every table is ready
 * @param allReady every table is ready: the copy is over and changes stream
 * @param ownCopy pgferry's own copy (the copy step), while it runs or once it ran; absent with native table sync
 */
public record SyncStatus(ApplyWorker subscription, List<TableSync> tables, int ready, int total, int percent,
                         boolean allReady, OwnCopy ownCopy) {

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
