package io.pgferry.agent.largeobjects;

import io.pgferry.agent.problem.BadRequestException;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Where a side stood at its last complete sync: every large object whose rows (pages, metadata) were all written by
 * transactions older than {@code xmin}, or by this side's own import transactions {@code xids}, is as the other side
 * had it then. Full 64-bit transaction ids (xid8), as text.
 *
 * @param xmin the oldest transaction still running when this side was read for the sync (its snapshot's xmin)
 * @param xids the transactions that wrote this side's copies in that sync (none on the side that was read)
 */
public record Mark(String xmin, List<String> xids) {
    private static final Pattern XID8 = Pattern.compile("[0-9]{1,19}");

    public Mark {
        if (xmin == null || !XID8.matcher(xmin).matches()) {
            throw new BadRequestException("xmin", "xmin must be a transaction id (xid8) as decimal text, as the "
                    + "scan answered in next_mark");
        }
        xids = xids == null ? List.of() : List.copyOf(xids);
        for (int i = 0; i < xids.size(); i++) {
            if (xids.get(i) == null || !XID8.matcher(xids.get(i)).matches()) {
                throw new BadRequestException("xids[" + i + "]", "each xid must be a transaction id (xid8) as "
                        + "decimal text, as the import answered");
            }
        }
    }

    long xminValue() {
        return Long.parseLong(xmin);
    }

    Long[] xidValues() {
        return xids.stream().map(Long::valueOf).toArray(Long[]::new);
    }
}
