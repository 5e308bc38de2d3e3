package io.pgferry.agent.rowcounts;

import java.util.List;

/** The answers of the row-counts routes. */
public final class RowCounts {
    private RowCounts() {
    }

    /** @param rows null when the table does not exist here */
    public record TableCount(String schema, String name, Long rows) {
    }

    /**
     * PostgreSQL's cumulative counters of rows inserted and deleted in a table (its partitions summed), from
     * pg_stat_all_tables: they only grow, so two readings bound how much the table's row count can have changed
     * between them. They reach the view up to about 10 s after the commit (a backend's pending statistics).
     */
    public record TableChanges(String schema, String name, long inserts, long deletes) {
    }

    public record Counts(List<TableCount> tables) {
    }

    public record Changes(List<TableChanges> tables) {
    }

    /**
     * A held snapshot of the publisher and how far the subscriber has applied.
     *
     * @param lsn the WAL insert position read in the snapshot: everything the snapshot sees committed before it
     * @param appliedLsn the subscriber's applied position when the wait ended, at or after {@code lsn}
     * @param changes the tables' counters read just before the snapshot was taken
     */
    public record Mark(String snapshot, String lsn, String appliedLsn, long waitedMs, List<TableChanges> changes) {
    }
}
