package io.pgferry.agent.migration;

import java.util.List;

/**
 * A {@link Scope} read against the catalogs.
 *
 * @param schemas every schema whose objects move (types, functions and views too, not only tables)
 * @param tables the ordinary and partitioned root tables that move, sorted
 * @param excludedTables tables inside {@code schemas} left out by the request (pg_dump must skip them)
 */
public record ResolvedScope(List<String> schemas, List<ScopedTable> tables, List<TableRef> excludedTables) {
    public List<TableRef> tableRefs() {
        return tables.stream().map(ScopedTable::table).toList();
    }
}
