package io.pgferry.agent.verify;

import io.pgferry.agent.migration.Names;
import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.problem.BadRequestException;
import java.util.List;

/**
 * Body of {@code POST /v1/migrations/{m}/verify}.
 *
 * @param tables default: the tables of the migration's manifest
 * @param sampleRows 0 (default): every row. Otherwise tables with more rows than this (by the planner's estimate)
 *                   and a one-column primary key are checked on one key range of about this many rows, starting at
 *                   a key drawn with TABLESAMPLE SYSTEM; the answer names the range
 * @param ranges the ranges the other side answered: the same rows are then checked here
 * @param snapshot a snapshot held by {@code POST verify/snapshot} on this agent: the tables and sequences are read
 *                 as of that snapshot (imported with SET TRANSACTION SNAPSHOT), which is then released
 */
public record VerifyRequest(String database, List<TableRef> tables, Long sampleRows, List<KeyRange> ranges,
                            String snapshot) {
    public VerifyRequest {
        Names.require("database", database);
        if (snapshot != null && !snapshot.matches("[0-9A-Fa-f]+-[0-9A-Fa-f]+(-[0-9A-Fa-f]+)?")) {
            throw new BadRequestException("snapshot", "snapshot must be an id answered by verify/snapshot");
        }
        tables = tables == null ? null : List.copyOf(tables);
        sampleRows = sampleRows == null ? 0L : sampleRows;
        if (sampleRows < 0) {
            throw new BadRequestException("sample_rows", "sample_rows must be 0 (every row) or more");
        }
        ranges = ranges == null ? List.of() : List.copyOf(ranges);
    }

    /** A primary-key range, bounds as text (cast to the key's type on each side). */
    public record KeyRange(String schema, String name, String column, String from, String to) {
        public KeyRange {
            Names.require("schema", schema);
            Names.require("name", name);
            Names.require("column", column);
            if (from == null || to == null) {
                throw new BadRequestException("ranges", "each range needs from and to");
            }
        }

        TableRef table() {
            return new TableRef(schema, name);
        }
    }
}
