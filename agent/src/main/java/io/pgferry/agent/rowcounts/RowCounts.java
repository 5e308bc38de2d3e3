package io.pgferry.agent.rowcounts;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/** The answers of the row-counts routes. */
public final class RowCounts {
    private RowCounts() {
    }

    /**
     * @param rows null when the table does not exist here
     * @param insertedSince with {@code since}: rows (and new versions of updated rows) whose inserting transaction the
     *                      earlier snapshot did not see
     * @param newKeys with {@code keys}: the keys of those rows; null when the table has no key or there are too many
     * @param touchedKeys with {@code keys}: the keys of rows a transaction that snapshot did not see deleted, updated
     *                    or locked (xmax); null likewise
     */
    // null says something here (no such table, no key): kept in the body, where the agent's JSON leaves nulls out
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record TableCount(String schema, String name, Long rows, Long insertedSince, List<JsonNode> newKeys,
                             List<JsonNode> touchedKeys) {
    }

    /** @param found the keys the table holds, of those asked */
    public record TableLookup(String schema, String name, List<JsonNode> found) {
    }

    public record Lookups(List<TableLookup> tables) {
    }

    /**
     * PostgreSQL's cumulative counters of rows inserted and deleted in a table (its partitions summed), from
     * pg_stat_all_tables: they only grow. They reach the view up to about 10 s after the commit (a backend's pending
     * statistics).
     */
    public record TableChanges(String schema, String name, long inserts, long deletes) {
    }

    public record Counts(List<TableCount> tables) {
    }

    public record Changes(List<TableChanges> tables) {
    }

    /**
     * A held snapshot.
     *
     * @param lsn the WAL insert position read in the snapshot: everything it sees committed before this position
     * @param visible which transactions it sees (pg_snapshot), for a later count's {@code since}
     * @param appliedLsn with {@code wait_for_subscriber}: the subscriber's applied position when the wait ended, at or
     *                   after {@code lsn}
     * @param changes the tables' counters, read just before the snapshot was taken
     */
    public record Snapshot(String snapshot, String lsn, String visible, String appliedLsn, long waitedMs,
                           List<TableChanges> changes) {
    }
}
