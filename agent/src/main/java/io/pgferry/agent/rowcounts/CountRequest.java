package io.pgferry.agent.rowcounts;

import io.pgferry.agent.http.BadRequestException;
import io.pgferry.agent.migration.Names;
import io.pgferry.agent.migration.TableRef;
import java.util.List;

/**
 * Body of {@code POST /v1/migrations/{m}/row-counts} and {@code .../row-counts/changes}.
 *
 * @param tables default: the tables of the migration's manifest
 * @param snapshot a snapshot held by {@code row-counts/snapshot} on this agent: the rows are counted as of it, then it
 *                 is released (row-counts only)
 * @param since the {@code visible} of an earlier snapshot of this database: each table's rows inserted by transactions
 *              that snapshot did not see are counted too ({@code inserted_since})
 */
public record CountRequest(String database, List<TableRef> tables, String snapshot, String since) {
    public CountRequest {
        Names.require("database", database);
        if (snapshot != null && !snapshot.matches("[0-9A-Fa-f]+-[0-9A-Fa-f]+(-[0-9A-Fa-f]+)?")) {
            throw new BadRequestException("snapshot", "snapshot must be an id answered by row-counts/snapshot");
        }
        if (since != null && !since.matches("[0-9]{1,20}:[0-9]{1,20}:([0-9]{1,20}(,[0-9]{1,20})*)?")) {
            throw new BadRequestException("since", "since must be the visible of an answer of row-counts/snapshot");
        }
        tables = tables == null ? null : List.copyOf(tables);
    }
}
