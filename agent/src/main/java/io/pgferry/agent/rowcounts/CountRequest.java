package io.pgferry.agent.rowcounts;

import io.pgferry.agent.http.BadRequestException;
import io.pgferry.agent.migration.Names;
import io.pgferry.agent.migration.TableRef;
import java.util.List;

/**
 * Body of {@code POST /v1/migrations/{m}/row-counts} and {@code .../row-counts/changes}.
 *
 * @param tables default: the tables of the migration's manifest
 * @param snapshot a snapshot held by {@code row-counts/mark} on this agent: the rows are counted as of it, then it is
 *                 released (row-counts only)
 */
public record CountRequest(String database, List<TableRef> tables, String snapshot) {
    public CountRequest {
        Names.require("database", database);
        if (snapshot != null && !snapshot.matches("[0-9A-Fa-f]+-[0-9A-Fa-f]+(-[0-9A-Fa-f]+)?")) {
            throw new BadRequestException("snapshot", "snapshot must be an id answered by row-counts/mark");
        }
        tables = tables == null ? null : List.copyOf(tables);
    }
}
