package io.pgferry.agent.rowcounts;

import io.pgferry.agent.migration.Names;
import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.problem.BadRequestException;
import java.util.List;

/**
 * Body of {@code POST /v1/migrations/{m}/row-counts} and {@code .../row-counts/changes}.
 *
 * @param tables default: the tables of the migration's manifest
 * @param snapshot a snapshot held by {@code row-counts/snapshot} on this agent: the rows are counted as of it, then it
 *                 is released (row-counts only)
 * @param since the {@code visible} of a snapshot of this database (an earlier one, or the one counted in): each
 *              table's rows inserted by transactions that snapshot did not see are counted too ({@code inserted_since})
 * @param keys with {@code since}, for tables with a primary key or replica identity index: the keys of those rows
 *             ({@code new_keys}), and of the rows a transaction that snapshot did not see deleted, updated or locked
 *             ({@code touched_keys})
 * @param release let go of the held {@code snapshot} once imported (default true)
 * @param changes with {@code since}: {@code inserted} counts only the rows inserted since (and their keys),
 *                {@code touched} only the keys of the rows touched since; default both. A client comparing two
 *                snapshots needs the touched keys of the earlier and the inserted rows of the later one, and each
 *                part is about a third of a count's cost per table
 */
public record CountRequest(String database, List<TableRef> tables, String snapshot, String since, Boolean keys,
                           Boolean release, String changes) {
    public static final String INSERTED = "inserted";
    public static final String TOUCHED = "touched";

    public CountRequest {
        Names.require("database", database);
        if (snapshot != null && !snapshot.matches("[0-9A-Fa-f]+-[0-9A-Fa-f]+(-[0-9A-Fa-f]+)?")) {
            throw new BadRequestException("snapshot", "snapshot must be an id answered by row-counts/snapshot");
        }
        if (since != null && !since.matches("[0-9]{1,20}:[0-9]{1,20}:([0-9]{1,20}(,[0-9]{1,20})*)?")) {
            throw new BadRequestException("since", "since must be the visible of an answer of row-counts/snapshot");
        }
        tables = tables == null ? null : List.copyOf(tables);
        keys = keys != null && keys;
        release = release == null || release;
        if (keys && since == null) {
            throw new BadRequestException("keys", "keys needs since");
        }
        if (changes != null && !changes.equals(INSERTED) && !changes.equals(TOUCHED)) {
            throw new BadRequestException("changes", "changes must be inserted or touched (or absent: both)");
        }
        if (changes != null && since == null) {
            throw new BadRequestException("changes", "changes needs since");
        }
    }
}
