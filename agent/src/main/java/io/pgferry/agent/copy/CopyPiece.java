package io.pgferry.agent.copy;

import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.sql.Sql;
import java.util.stream.Collectors;

/**
 * What one COPY reads on the source: a whole relation (the table or one leaf partition), or a range of its heap
 * blocks. Ranges are ctid ranges (TID range scans, PostgreSQL 14+): they need no key, split a table into even
 * parts by size, and in one snapshot every visible row lies in exactly one of them. The last range is open-ended.
 *
 * @param fromBlock first block of a range, null for a whole relation
 * @param toBlock block the range ends before, null for the open-ended last range (or a whole relation)
 */
record CopyPiece(CopyUnit unit, TableRef relation, long bytes, Long fromBlock, Long toBlock) {
    /** Up to this size on the source a table is tiny: read and written many to a round trip, not one COPY each. */
    static final long TINY_BYTES = 128 * 1024;

    boolean whole() {
        return fromBlock == null;
    }

    /**
     * A whole small relation whose columns are all of PostgreSQL's own types: its rows go as text through one
     * query per batch of tables on each side (see {@link CopyWorker}) instead of three round trips of COPY.
     */
    boolean tiny() {
        return whole() && bytes <= TINY_BYTES && unit.builtin && !unit.columns.isEmpty();
    }

    /** Each column as its text form: what COPY's text format sends, parsed back by the same input functions. */
    String selectText() {
        return "SELECT " + unit.columns.stream().map(c -> Sql.ident(c) + "::text").collect(Collectors.joining(", "))
                + " FROM ONLY " + relation.quoted();
    }

    String sourceSql() {
        if (whole()) {
            return "COPY " + relation.quoted() + unit.columnList() + " TO STDOUT" + unit.format();
        }
        String columns = unit.columns.stream().map(Sql::ident).collect(Collectors.joining(", "));
        String where = " WHERE ctid >= '(" + fromBlock + ",0)'::tid"
                + (toBlock == null ? "" : " AND ctid < '(" + toBlock + ",0)'::tid");
        return "COPY (SELECT " + columns + " FROM ONLY " + relation.quoted() + where + ") TO STDOUT" + unit.format();
    }

    String describe() {
        return relation.quoted() + (whole() ? "" : " blocks " + fromBlock + ".." + (toBlock == null ? "end"
                : Long.toString(toBlock - 1)));
    }
}
