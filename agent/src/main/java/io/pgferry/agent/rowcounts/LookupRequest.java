package io.pgferry.agent.rowcounts;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgferry.agent.migration.Names;
import io.pgferry.agent.problem.BadRequestException;
import java.util.List;

/**
 * Body of {@code POST /v1/migrations/{m}/row-counts/lookup}: which of the given keys each table holds, in a held
 * snapshot.
 *
 * @param release let go of the held snapshot afterwards (default true)
 */
public record LookupRequest(String database, String snapshot, Boolean release, List<TableKeys> tables) {
    /** At most this many keys per table: they are the rows a few milliseconds of writes touched. */
    static final int MAX_KEYS = 20000;

    /** @param keys objects of key column name to value, as answered by row-counts */
    public record TableKeys(String schema, String name, List<JsonNode> keys) {
        public TableKeys {
            Names.require("schema", schema);
            Names.require("name", name);
            keys = keys == null ? List.of() : List.copyOf(keys);
            if (keys.size() > MAX_KEYS) {
                throw new BadRequestException("tables", "at most " + MAX_KEYS + " keys per table");
            }
            for (JsonNode k : keys) {
                if (!k.isObject()) {
                    throw new BadRequestException("tables", "each key is an object of column name to value");
                }
            }
        }
    }

    public LookupRequest {
        Names.require("database", database);
        if (snapshot == null || !snapshot.matches("[0-9A-Fa-f]+-[0-9A-Fa-f]+(-[0-9A-Fa-f]+)?")) {
            throw new BadRequestException("snapshot", "snapshot must be an id answered by row-counts/snapshot");
        }
        release = release == null || release;
        tables = tables == null ? List.of() : List.copyOf(tables);
    }
}
