package io.pgferry.agent.reversereplication;

import io.pgferry.agent.migration.Names;
import io.pgferry.agent.migration.TableIdentity;
import io.pgferry.agent.problem.BadRequestException;
import io.pgferry.agent.subscription.SourceConnection;
import java.util.List;

/**
 * Body of {@code PUT /v1/migrations/{m}/reverse-replication}.
 *
 * @param side {@code publisher} on the new primary (the old target): replication role {@code pgferry_<m>} with
 *             {@code password}, publication {@code pgferry_<m>_reverse}; {@code subscriber} on the old source:
 *             subscription {@code pgferry_<m>_reverse} through {@code connection}
 * @param replicaIdentities publisher: the source's tables whose replica identity is full or an index (the source's
 *                          ready check answers them); the same identity is set here where it is missing
 */
public record ReverseReplicationRequest(String database, String side, String password, SourceConnection connection,
                                        List<TableIdentity> replicaIdentities, Boolean check) {
    public ReverseReplicationRequest {
        Names.require("database", database);
        if ("publisher".equals(side)) {
            if (password == null || password.isEmpty() || password.length() > 1000 || password.indexOf('\0') >= 0) {
                throw new BadRequestException("password", "password is required on the publisher side: the password "
                        + "the old source's subscription logs in with (1-1000 characters)");
            }
        } else if ("subscriber".equals(side)) {
            if (connection == null) {
                throw new BadRequestException("connection", "connection is required on the subscriber side: {host, "
                        + "port, dbname, user, password, sslmode} of the new primary");
            }
        } else {
            throw new BadRequestException("side", "side must be publisher or subscriber");
        }
        if (replicaIdentities != null && !"publisher".equals(side)) {
            throw new BadRequestException("replica_identities", "replica_identities belong to the publisher side");
        }
        replicaIdentities = replicaIdentities == null ? List.of() : List.copyOf(replicaIdentities);
        check = check != null && check;
    }

    @Override
    public String toString() {
        return "ReverseReplicationRequest[database=" + database + ", side=" + side + ", connection=" + connection
                + "]";
    }
}
