package io.pgferry.agent.migration;

import io.pgferry.agent.http.BadRequestException;
import java.util.List;

/**
 * What a migration does with unlogged tables in scope, whose rows write no WAL and so cannot replicate: {@code refuse}
 * them (the default: the preflight fails and the publication step refuses them), or move them {@code empty} - the
 * table and its indexes are created on the target, the rows stay behind and the publication leaves it out.
 */
public final class UnloggedTables {
    public static final String REFUSE = "refuse";
    public static final String EMPTY = "empty";
    private static final List<String> ALL = List.of(REFUSE, EMPTY);

    private UnloggedTables() {
    }

    /** The request's value, {@code refuse} when absent; anything else is a 400 naming the field. */
    public static String require(String value) {
        if (value == null) {
            return REFUSE;
        }
        if (!ALL.contains(value)) {
            throw new BadRequestException("unlogged_tables", "unlogged_tables must be refuse (the default) or "
                    + "empty (create them on the target without their rows)");
        }
        return value;
    }

    /** The unlogged tables of the scope that move without their rows (none when they are refused). */
    public static List<TableRef> movedEmpty(String mode, List<ScopedTable> tables) {
        return EMPTY.equals(mode) ? tables.stream().filter(t -> t.unlogged() && t.kind() == 'r')
                .map(ScopedTable::table).toList() : List.of();
    }
}
