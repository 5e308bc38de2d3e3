package io.pgferry.agent.migration;

/**
 * A table's replica identity when it is not the default: {@code full} or {@code index <name>} (as
 * {@link ReplicaIdentityChanges.Identity} writes them). The source's are carried to the target before a cutover, so
 * the reverse stream can publish the same tables without breaking UPDATE and DELETE there.
 */
public record TableIdentity(String schema, String name, String identity) {
    public TableIdentity {
        Names.require("schema", schema);
        Names.require("name", name);
        ReplicaIdentityChanges.Identity.parse(identity);
    }

    public TableRef table() {
        return new TableRef(schema, name);
    }
}
