package io.pgferry.agent.preflight;

import io.pgferry.agent.database.DatabaseLocale;
import io.pgferry.agent.migration.Names;
import io.pgferry.agent.migration.Scope;
import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.migration.UnloggedTables;
import io.pgferry.agent.privilegeset.RoleMap;
import io.pgferry.agent.problem.BadRequestException;
import io.pgferry.agent.replicationrole.RowSecurityMode;
import io.pgferry.agent.roles.SourceRole;
import io.pgferry.agent.subscription.SourceConnection;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Body of {@code POST /v1/migrations/{m}/preflight}. The scope fields are read on both sides. Fields of the other
 * side are refused (400), so a mistake in a playbook is seen instead of silently ignored.
 *
 * @param side {@code source} or {@code target}
 * @param replicaIdentityFull source: tables without a key that the publication step will set to REPLICA IDENTITY FULL
 * @param replicaIdentityIndex source: tables without a key to be identified by one of their unique indexes
 * @param rowSecurity source: how the replication_role step will get the copy past row-level security (policy,
 *                    bypassrls or none; default policy)
 * @param subscriptionUser source: the role the subscription will log in as, when not the migration's own
 *                         {@code pgferry_<m>}; the copy reads the tables as that role
 * @param skipLargeObjects source: true leaves large objects behind (by default the large_objects step moves them)
 * @param unloggedTables source: {@code refuse} (default) or {@code empty} ({@link UnloggedTables})
 * @param refreshMaterializedViews source: whether the cutover will refresh materialized views (for the report)
 * @param allowOlderTarget target: accept a target older than the source
 * @param sourceMajor target: the source's major version (from the source preflight's facts)
 * @param sourceSizeBytes target: the source database's size, for the free-disk check
 * @param expectedExtensions target: extensions the source database has (from its preflight facts or manifest)
 * @param connection target: how the target server reaches the source, as the subscription will
 * @param replicationRoleExists target: whether the replication role exists on the source yet (the source
 *                              preflight's facts); when false a failed login is a warning, not an error; when
 *                              absent (the source's preflight did not answer) it is unknown, and a warning too
 * @param privileges both sides, absent means true: owners and privileges move (false: they do not, and code
 *                   owned by non-superusers is an error on the source)
 * @param sourceRoles target: the roles the database needs (the source preflight's {@code facts.roles})
 * @param roleMap target: source role to target role
 * @param allowRoleRights target: target roles allowed rights beyond their source role's
 * @param allowSharedRoles target: target roles that may also serve other databases of the target
 * @param sourceApplyCode target: the source's code that runs under the subscription (its {@code facts.apply_code})
 * @param sourceOutsideDependencies target: what the source's objects in scope need from outside it (its
 *                                  {@code facts.outside_dependencies}), looked up in the target database
 * @param sourceDatabaseLocale target: the source database's encoding and locale (its {@code facts.database_locale}),
 *                             which the target database is created with, or must have when it exists
 * @param allowLocaleChange target: a target database whose encoding or locale differs from the source's is a
 *                          warning, not an error
 * @param sourcePartitionRights target: partitions whose root's owner lacks rights on them (the source preflight's
 *                              {@code facts.partition_rights}, {@link PartitionRights})
 */
public record PreflightRequest(String side, String database, List<String> includeSchemas,
                               List<String> excludeSchemas, List<TableRef> includeTables,
                               List<TableRef> excludeTables, List<TableRef> replicaIdentityFull,
                               List<ReplicaIdentityIndex> replicaIdentityIndex, Boolean skipLargeObjects,
                               String rowSecurity, String subscriptionUser, Boolean allowOlderTarget,
                               Integer sourceMajor, Long sourceSizeBytes, List<String> expectedExtensions,
                               SourceConnection connection, Boolean replicationRoleExists, Boolean privileges,
                               List<SourceRole> sourceRoles, Map<String, String> roleMap, List<String> allowRoleRights,
                               List<String> allowSharedRoles, List<String> sourceApplyCode, String unloggedTables,
                               Boolean refreshMaterializedViews,
                               List<OutsideDependencies.Dependency> sourceOutsideDependencies,
                               DatabaseLocale sourceDatabaseLocale, Boolean allowLocaleChange,
                               List<String> sourcePartitionRights) {
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
            addIf(misplaced, sourceRoles != null, "source_roles");
            addIf(misplaced, roleMap != null, "role_map");
            addIf(misplaced, allowRoleRights != null, "allow_role_rights");
            addIf(misplaced, allowSharedRoles != null, "allow_shared_roles");
            addIf(misplaced, sourceApplyCode != null, "source_apply_code");
            addIf(misplaced, sourceOutsideDependencies != null, "source_outside_dependencies");
            addIf(misplaced, sourceDatabaseLocale != null, "source_database_locale");
            addIf(misplaced, allowLocaleChange != null, "allow_locale_change");
            addIf(misplaced, sourcePartitionRights != null, "source_partition_rights");
        } else {
            addIf(misplaced, replicaIdentityFull != null, "replica_identity_full");
            addIf(misplaced, replicaIdentityIndex != null, "replica_identity_index");
            addIf(misplaced, skipLargeObjects != null, "skip_large_objects");
            addIf(misplaced, rowSecurity != null, "row_security");
            addIf(misplaced, subscriptionUser != null, "subscription_user");
            addIf(misplaced, unloggedTables != null, "unlogged_tables");
            addIf(misplaced, refreshMaterializedViews != null, "refresh_materialized_views");
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
        RowSecurityMode.parse("row_security", rowSecurity);
        if (subscriptionUser != null) {
            Names.require("subscription_user", subscriptionUser);
        }
        unloggedTables = UnloggedTables.require(unloggedTables);
        refreshMaterializedViews = refreshMaterializedViews != null && refreshMaterializedViews;
        allowOlderTarget = allowOlderTarget != null && allowOlderTarget;
        allowLocaleChange = allowLocaleChange != null && allowLocaleChange;
        expectedExtensions = Names.requireAll("expected_extensions", expectedExtensions);
        privileges = privileges == null || privileges;
        sourceRoles = sourceRoles == null ? null : List.copyOf(sourceRoles);
        roleMap = RoleMap.of(roleMap).map();
        allowRoleRights = Names.requireAll("allow_role_rights", allowRoleRights);
        allowSharedRoles = Names.requireAll("allow_shared_roles", allowSharedRoles);
        sourceApplyCode = sourceApplyCode == null ? List.of() : List.copyOf(sourceApplyCode);
        sourcePartitionRights = sourcePartitionRights == null ? List.of() : List.copyOf(sourcePartitionRights);
        sourceOutsideDependencies = sourceOutsideDependencies == null ? List.of()
                : List.copyOf(sourceOutsideDependencies);
        // null: unknown (the source's preflight failed or did not run): a failed login is then no error of its own.
    }

    private static void addIf(List<String> list, boolean condition, String field) {
        if (condition) {
            list.add(field);
        }
    }

    RowSecurityMode rowSecurityMode() {
        return RowSecurityMode.parse("row_security", rowSecurity);
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
