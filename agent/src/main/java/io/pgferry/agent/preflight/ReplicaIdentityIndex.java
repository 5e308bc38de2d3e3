package io.pgferry.agent.preflight;

import io.pgferry.agent.migration.Names;
import io.pgferry.agent.migration.TableRef;

/** A table without a primary key whose UPDATEs and DELETEs are to be identified by one of its unique indexes. */
public record ReplicaIdentityIndex(String schema, String name, String index) {
    public ReplicaIdentityIndex {
        Names.require("replica_identity_index.schema", schema);
        Names.require("replica_identity_index.name", name);
        Names.require("replica_identity_index.index", index);
    }

    public TableRef table() {
        return new TableRef(schema, name);
    }
}
