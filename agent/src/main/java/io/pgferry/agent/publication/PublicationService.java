package io.pgferry.agent.publication;

import io.pgferry.agent.migration.FullRowEquality;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.Plan;
import io.pgferry.agent.migration.ReplicaIdentityChanges.Identity;
import io.pgferry.agent.migration.ReplicaIdentityChanges;
import io.pgferry.agent.migration.ReplicatedRelations;
import io.pgferry.agent.migration.ResolvedScope;
import io.pgferry.agent.migration.ScopeResolver;
import io.pgferry.agent.migration.StepResult;
import io.pgferry.agent.migration.Steps;
import io.pgferry.agent.migration.TableIdentity;
import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.migration.UnloggedTables;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.problem.ApiException;
import io.pgferry.agent.sql.Sql;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/** Creates the publication {@code pgferry_<m>} or brings its tables and options in line with the scope. */
public final class PublicationService {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private final PgConnector connector;
    private final Path stateDir;

    public PublicationService(PgConnector connector, Path stateDir) {
        this.connector = connector;
        this.stateDir = stateDir;
    }

    public StepResult<PublicationState.Response> apply(MigrationId migration, PublicationRequest request) {
        String name = migration.objectName();
        try (Connection c = Steps.open(connector, request.database(), TIMEOUT, false)) {
            int major = connector.serverVersion(c).major();
            ResolvedScope scope = ScopeResolver.resolve(c, request.scope());
            List<TableRef> empty = UnloggedTables.movedEmpty(request.unloggedTables(), scope.tables());
            List<TableRef> tables = scope.tableRefs().stream().filter(t -> !empty.contains(t)).toList();
            if (tables.isEmpty()) {
                throw ApiException.unprocessable("no_tables_in_scope", "the scope selects no tables, so there is "
                        + "nothing to publish; check include_schemas and include_tables", List.of());
            }
            Set<TableRef> full = new TreeSet<>(request.replicaIdentityFull());
            Map<TableRef, String> byIndex = new LinkedHashMap<>();
            request.replicaIdentityIndex().forEach(r -> byIndex.put(r.table(), r.index()));
            Set<TableRef> inScope = new java.util.HashSet<>(tables);
            List<String> stray = new ArrayList<>();
            for (TableRef t : full) {
                if (!inScope.contains(t)) {
                    stray.add(t.quoted());
                }
            }
            for (TableRef t : byIndex.keySet()) {
                if (!inScope.contains(t)) {
                    stray.add(t.quoted());
                }
            }
            if (!stray.isEmpty()) {
                throw ApiException.unprocessable("unknown_objects", "replica_identity_full or "
                        + "replica_identity_index name tables that are not in scope: " + String.join(", ", stray)
                        + "; list only tables the scope selects", stray);
            }
            List<ReplicatedRelations.Relation> relations = ReplicatedRelations.read(c, tables);
            refuseUnsafe(relations, full, byIndex.keySet());
            refuseUncomparable(c, relations, full);

            // The replica identities asked for, each recorded with what it was before (cleanup puts it back).
            Plan plan = new Plan();
            List<ReplicaIdentityChanges.Change> changes = new ArrayList<>();
            for (ReplicatedRelations.Relation r : relations) {
                Identity wanted = null;
                if (full.contains(r.root()) && r.kind() != 'f') {
                    wanted = new Identity('f', null);
                } else if (byIndex.containsKey(r.root()) && r.root().equals(r.table())) {
                    wanted = new Identity('i', byIndex.get(r.root()));
                }
                Optional<Identity> now = wanted == null ? Optional.empty()
                        : ReplicaIdentityChanges.current(c, r.table());
                if (now.isPresent() && !now.get().equals(wanted)) {
                    plan.add("ALTER TABLE " + r.table().quoted() + " REPLICA IDENTITY " + wanted.clause());
                    changes.add(new ReplicaIdentityChanges.Change(r.table().schema(), r.table().name(),
                            now.get().toString(), wanted.toString()));
                }
            }
            Optional<PublicationCatalog.Existing> existing = PublicationCatalog.read(c, name, major);
            if (existing.isEmpty()) {
                plan.add("CREATE PUBLICATION " + Sql.ident(name) + " FOR TABLE " + list(tables)
                        + " WITH (publish_via_partition_root = " + request.publishViaPartitionRoot() + ")");
            } else {
                align(c, plan, migration, existing.get(), tables, request.publishViaPartitionRoot());
            }
            if (!request.check()) {
                new ReplicaIdentityChanges(stateDir, migration).record(changes);
                plan.runInTransaction(c);
            }
            boolean exists = existing.isPresent() || !request.check();
            return plan.result(request.check(), new PublicationState.Response(new PublicationState(name, exists,
                    tables, request.publishViaPartitionRoot(), List.copyOf(full), identities(c, relations, changes))));
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    /** Drops the publication when it exists. */
    public StepResult<PublicationState.Response> drop(MigrationId migration, String database, boolean check) {
        String name = migration.objectName();
        try (Connection c = Steps.open(connector, database, TIMEOUT, false)) {
            int major = connector.serverVersion(c).major();
            Plan plan = new Plan();
            if (PublicationCatalog.read(c, name, major).isPresent()) {
                plan.add("DROP PUBLICATION " + Sql.ident(name));
            }
            if (!check) {
                plan.runInTransaction(c);
            }
            return plan.result(check, new PublicationState.Response(
                    new PublicationState(name, check && !plan.isEmpty(), List.of(), null, null, null)));
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    /**
     * The full and index identities of the scope's relations as this step leaves them (those it set, in check mode
     * those it would set): the target's replica_identity step sets the same.
     */
    private static List<TableIdentity> identities(Connection c, List<ReplicatedRelations.Relation> relations,
                                                  List<ReplicaIdentityChanges.Change> changes) throws SQLException {
        Map<TableRef, String> set = new LinkedHashMap<>();
        changes.forEach(ch -> set.put(ch.table(), ch.set()));
        List<TableIdentity> out = new ArrayList<>();
        for (ReplicatedRelations.Relation r : relations) {
            String identity = set.get(r.table());
            if (identity == null) {
                identity = ReplicaIdentityChanges.current(c, r.table())
                        .filter(id -> id.kind() == 'f' || (id.kind() == 'i' && id.index() != null))
                        .map(Identity::toString).orElse(null);
            }
            if (identity != null) {
                out.add(new TableIdentity(r.table().schema(), r.table().name(), identity));
            }
        }
        return out;
    }

    /**
     * Publishing a table whose UPDATEs and DELETEs cannot be identified makes PostgreSQL reject those statements
     * on the source: the application would break. Unlogged tables write no WAL and cannot be replicated at all.
     * Either is refused before anything changes.
     */
    private static void refuseUnsafe(List<ReplicatedRelations.Relation> relations, Set<TableRef> full,
                                     Set<TableRef> byIndex) {
        List<String> unlogged = relations.stream().filter(ReplicatedRelations.Relation::unlogged)
                .map(ReplicatedRelations.Relation::describe).toList();
        if (!unlogged.isEmpty()) {
            throw ApiException.unprocessable("unlogged_tables", "unlogged tables write no WAL, so logical "
                    + "replication cannot carry them: " + String.join(", ", unlogged) + "; make them logged "
                    + "(ALTER TABLE .. SET LOGGED) or exclude them with exclude_tables", unlogged);
        }
        List<String> missing = relations.stream()
                .filter(r -> r.kind() == 'r' && !full.contains(r.root()) && !r.hasReplicaIdentity()
                        && !(byIndex.contains(r.root()) && r.root().equals(r.table())))
                .map(ReplicatedRelations.Relation::describe).toList();
        if (!missing.isEmpty()) {
            throw ApiException.unprocessable("table_without_replica_identity", "these tables have no primary key "
                    + "or replica identity, so once published PostgreSQL would reject UPDATE and DELETE on them: "
                    + String.join(", ", missing) + "; add a primary key (best), or name a unique index on NOT NULL "
                    + "columns in replica_identity_index, or list them in replica_identity_full (every change then "
                    + "logs the whole old row)", missing);
        }
    }

    /** A table compared whole on the target whose column has no equality would stop the stream at its first UPDATE. */
    private static void refuseUncomparable(Connection c, List<ReplicatedRelations.Relation> relations,
                                           Set<TableRef> full) throws SQLException {
        List<TableRef> comparedWhole = relations.stream().filter(r -> r.kind() == 'r' && (r.replicaIdentity() == 'f'
                        || (!r.hasReplicaIdentity() && full.contains(r.root()))))
                .map(ReplicatedRelations.Relation::table).toList();
        List<String> uncomparable = new FullRowEquality(c).uncomparable(comparedWhole);
        if (!uncomparable.isEmpty()) {
            throw ApiException.unprocessable("replica_identity_full_uncomparable", "these columns are in tables "
                    + "compared whole (REPLICA IDENTITY FULL) and their types have no equality operator, so the "
                    + "target's apply would stop at the first UPDATE or DELETE: " + String.join(", ", uncomparable)
                    + "; add a primary key, or name a unique index in replica_identity_index, or change the column's "
                    + "type (jsonb instead of json), or exclude the table", uncomparable);
        }
    }

    /**
     * @throws ApiException 409 {@code scope_changed} when the tables would change while the stream runs
     *                      ({@link RunningStream})
     */
    private static void align(Connection c, Plan plan, MigrationId migration, PublicationCatalog.Existing existing,
                              List<TableRef> tables, boolean viaRoot) throws SQLException {
        String name = migration.objectName();
        if (existing.allTables() || existing.schemaMembers() > 0) {
            throw ApiException.conflict("publication_conflict", "publication " + Sql.ident(name) + " exists but "
                    + "publishes " + (existing.allTables() ? "all tables" : "whole schemas") + ", which pgferry "
                    + "does not manage; drop it (DELETE this endpoint) and run the step again",
                    List.of(Sql.ident(name)));
        }
        String publication = "ALTER PUBLICATION " + Sql.ident(name);
        List<TableRef> drop = new ArrayList<>();
        List<TableRef> add = new ArrayList<>();
        Set<TableRef> wanted = new java.util.HashSet<>(tables);
        existing.members().forEach((table, narrowed) -> {
            // A row filter or column list would publish part of the table: re-add it whole.
            if (!wanted.contains(table) || narrowed) {
                drop.add(table);
            }
        });
        for (TableRef t : tables) {
            if (!existing.members().containsKey(t) || existing.members().get(t)) {
                add.add(t);
            }
        }
        boolean viaRootChanged = existing.viaRoot() != viaRoot;
        if ((!drop.isEmpty() || !add.isEmpty() || viaRootChanged) && RunningStream.started(c, name)) {
            // A member narrowed by a row filter or column list is in both lists: shown once, as changed.
            List<TableRef> added = add.stream().filter(t -> !drop.contains(t)).toList();
            throw ApiException.conflict(RunningStream.CODE, RunningStream.problem(name, added, drop, viaRootChanged)
                    + "; " + RunningStream.fix(migration.value()), RunningStream.objects(added, drop, viaRootChanged));
        }
        if (!drop.isEmpty()) {
            plan.add(publication + " DROP TABLE " + list(drop));
        }
        if (!add.isEmpty()) {
            plan.add(publication + " ADD TABLE " + list(add));
        }
        List<String> options = new ArrayList<>();
        if (viaRootChanged) {
            options.add("publish_via_partition_root = " + viaRoot);
        }
        if (!existing.publishesEverything()) {
            options.add("publish = 'insert, update, delete, truncate'");
        }
        if (!options.isEmpty()) {
            plan.add(publication + " SET (" + String.join(", ", options) + ")");
        }
    }

    private static String list(List<TableRef> tables) {
        return tables.stream().map(TableRef::quoted).collect(Collectors.joining(", "));
    }
}
