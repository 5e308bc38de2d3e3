package io.pgferry.agent.preflight;

import io.pgferry.agent.http.BadRequestException;
import io.pgferry.agent.migration.Names;
import io.pgferry.agent.migration.Scope;
import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.subscription.SourceConnection;
import java.util.ArrayList;
import java.util.List;

/**
 * Body of {@code POST /v1/migrations/{m}/preflight}. The scope fields are read on both sides. Fields of the other
 * side are refused (400), so a mistake in a playbook is seen instead of silently ignored.
 *
 * @param side {@code source} or {@code target}
 * @param replicaIdentityFull source: tables without a key that the publication step will set to REPLICA IDENTITY FULL
 * @param replicaIdentityIndex source: tables without a key to be identified by one of their unique indexes
 * @param skipLargeObjects source: large objects are not replicated; true accepts leaving them behind
 * @param allowOlderTarget target: accept a target older than the source
 * @param sourceMajor target: the source's major version (from the source preflight's facts)
 * @param sourceSizeBytes target: the source database's size, for the free-disk check
 * @param expectedExtensions target: extensions the source database has (from its preflight facts or manifest)
 * @param connection target: how the target server reaches the source, as the subscription will
 * @param replicationRoleExists target: whether the replication role exists on the source yet (the source
 *                              preflight's facts); when false a failed login is a warning, not an error; when
 *                              absent (the source's preflight did not answer) it is unknown, and a warning too
 */
public record PreflightRequest(String side, String database, List<String> includeSchemas,
                               List<String> excludeSchemas, List<TableRef> includeTables,
                               List<TableRef> excludeTables, List<TableRef> replicaIdentityFull,
                               List<ReplicaIdentityIndex> replicaIdentityIndex, Boolean skipLargeObjects,
                               Boolean allowOlderTarget, Integer sourceMajor, Long sourceSizeBytes,
                               List<String> expectedExtensions, SourceConnection connection,
                               Boolean replicationRoleExists) {
    public static final String SOURCE = "source";
    public static final String TARGET = "target";

    public PreflightRequest {
        if (!SOURCE.equals(side) && !TARGET.equals(side)) {
            throw new BadRequestException("side", "side is required: source or target");
        }
        Names.require("database", database);
        List<String> misplaced = new ArrayList<>();
        if (side.equals(SOURCE)) {
            addIf(misplaced, allowOlderTarget != null, "allow_older_target");
            addIf(misplaced, sourceMajor != null, "source_major");
            addIf(misplaced, sourceSizeBytes != null, "source_size_bytes");
            addIf(misplaced, expectedExtensions != null, "expected_extensions");
            addIf(misplaced, connection != null, "connection");
            addIf(misplaced, replicationRoleExists != null, "replication_role_exists");
        } else {
            addIf(misplaced, replicaIdentityFull != null, "replica_identity_full");
            addIf(misplaced, replicaIdentityIndex != null, "replica_identity_index");
            addIf(misplaced, skipLargeObjects != null, "skip_large_objects");
        }
        if (!misplaced.isEmpty()) {
            throw new BadRequestException(misplaced.get(0), String.join(", ", misplaced) + " belong to the "
                    + (side.equals(SOURCE) ? "target" : "source") + " side's preflight; leave them out for side "
                    + side);
        }
        if (sourceMajor != null && (sourceMajor < 9 || sourceMajor > 99)) {
            throw new BadRequestException("source_major", "source_major must be a PostgreSQL major version, "
                    + "e.g. 16");
        }
        if (sourceSizeBytes != null && sourceSizeBytes < 0) {
            throw new BadRequestException("source_size_bytes", "source_size_bytes must be 0 or more");
        }
        replicaIdentityFull = replicaIdentityFull == null ? List.of() : List.copyOf(replicaIdentityFull);
        replicaIdentityIndex = replicaIdentityIndex == null ? List.of() : List.copyOf(replicaIdentityIndex);
        skipLargeObjects = skipLargeObjects != null && skipLargeObjects;
        allowOlderTarget = allowOlderTarget != null && allowOlderTarget;
        expectedExtensions = Names.requireAll("expected_extensions", expectedExtensions);
        // null: unknown (the source's preflight failed or did not run): a failed login is then no error of its own.
    }

    private static void addIf(List<String> list, boolean condition, String field) {
        if (condition) {
            list.add(field);
        }
    }

    Scope scope() {
        return new Scope(includeSchemas, excludeSchemas, includeTables, excludeTables);
    }

    /** Never the password (the connection masks it). */
    @Override
    public String toString() {
        return "PreflightRequest[side=" + side + ", database=" + database + ", connection=" + connection + "]";
    }
}
