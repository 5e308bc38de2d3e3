package io.pgferry.agent;

import io.pgferry.agent.config.AgentConfig;
import io.pgferry.agent.copy.CopyController;
import io.pgferry.agent.copy.CopyService;
import io.pgferry.agent.database.DatabaseController;
import io.pgferry.agent.database.DatabaseService;
import io.pgferry.agent.http.RouteGroup;
import io.pgferry.agent.jobs.JobRunner;
import io.pgferry.agent.jobs.JobsController;
import io.pgferry.agent.largeobjects.LargeObjectsController;
import io.pgferry.agent.leftbehind.LeftBehindController;
import io.pgferry.agent.leftbehind.LeftBehindService;
import io.pgferry.agent.materializedviews.MaterializedViewsController;
import io.pgferry.agent.materializedviews.MaterializedViewsService;
import io.pgferry.agent.largeobjects.LargeObjectsService;
import io.pgferry.agent.lifecycle.LifecycleController;
import io.pgferry.agent.lifecycle.LifecycleService;
import io.pgferry.agent.migration.ManifestScopes;
import io.pgferry.agent.postdata.PostDataController;
import io.pgferry.agent.postdata.PostDataService;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.postgres.PgProcess;
import io.pgferry.agent.postgres.PgToolsCache;
import io.pgferry.agent.preflight.PreflightController;
import io.pgferry.agent.preflight.PreflightService;
import io.pgferry.agent.publication.PublicationController;
import io.pgferry.agent.publication.PublicationService;
import io.pgferry.agent.privileges.PrivilegesController;
import io.pgferry.agent.privileges.PrivilegesService;
import io.pgferry.agent.replicaidentity.ReplicaIdentityController;
import io.pgferry.agent.replicaidentity.ReplicaIdentityService;
import io.pgferry.agent.replicationrole.ReplicationRoleController;
import io.pgferry.agent.replicationrole.ReplicationRoleService;
import io.pgferry.agent.roles.RolesController;
import io.pgferry.agent.roles.RolesService;
import io.pgferry.agent.schemaapply.SchemaApplyController;
import io.pgferry.agent.schemaapply.SchemaApplyService;
import io.pgferry.agent.schemaarchive.ArchiveFiles;
import io.pgferry.agent.schemaarchive.ArchiveKey;
import io.pgferry.agent.schemaarchive.SchemaArchiveController;
import io.pgferry.agent.schemaarchive.SchemaArchiveService;
import io.pgferry.agent.status.StatusController;
import io.pgferry.agent.status.StatusService;
import io.pgferry.agent.subscription.SubscriptionController;
import io.pgferry.agent.subscription.SubscriptionService;
import io.pgferry.agent.syncstatus.SyncStatusController;
import io.pgferry.agent.syncstatus.SyncStatusService;
import io.pgferry.agent.catchup.CatchUpController;
import io.pgferry.agent.catchup.CatchUpService;
import io.pgferry.agent.catchup.SubscriberCommitService;
import io.pgferry.agent.cleanup.CleanupController;
import io.pgferry.agent.cleanup.CleanupService;
import io.pgferry.agent.fence.FenceController;
import io.pgferry.agent.fence.FenceService;
import io.pgferry.agent.orphans.OrphansController;
import io.pgferry.agent.orphans.OrphansService;
import io.pgferry.agent.readycheck.ReadyCheckController;
import io.pgferry.agent.readycheck.ReadyCheckService;
import io.pgferry.agent.reversereplication.ReverseReplicationController;
import io.pgferry.agent.rowcounts.RowCountsController;
import io.pgferry.agent.rowcounts.RowCountsService;
import io.pgferry.agent.reversereplication.ReverseReplicationService;
import io.pgferry.agent.sequences.SequencesController;
import io.pgferry.agent.sequences.SequencesService;
import io.pgferry.agent.stopreplication.StopReplicationController;
import io.pgferry.agent.stopreplication.StopReplicationService;
import io.pgferry.agent.transactions.TransactionsController;
import io.pgferry.agent.transactions.TransactionsService;
import io.pgferry.agent.verify.VerifyController;
import io.pgferry.agent.verify.VerifyService;
import java.util.List;
import java.util.Optional;

/** The migration steps the agent serves, each a feature package with its own routes. */
final class Features {
    private Features() {
    }

    /**
     * @param jobs one runner for every long step: the agent runs one long operation at a time
     * @param tools the pg_dump and pg_restore runs, stopped with the agent
     */
    static List<RouteGroup> all(AgentConfig config, PgConnector connector, PgToolsCache pgTools, JobRunner jobs,
                                PgProcess tools) {
        Optional<ArchiveKey> archiveKey = config.archiveKey().map(ArchiveKey::of);
        SubscriptionService subscriptions = new SubscriptionService(connector, config.stateDir());
        CopyService copy = new CopyService(connector, pgTools, tools, jobs, config.stateDir(), config.copy(),
                subscriptions);
        SyncStatusService syncStatus = new SyncStatusService(connector, copy);
        ReplicationRoleService replicationRoles = new ReplicationRoleService(connector);
        ManifestScopes scopes = ArchiveFiles.scopes(config.stateDir());
        return List.of(
                new JobsController(jobs),
                new SchemaArchiveController(new SchemaArchiveService(connector, pgTools, tools, config.stateDir(),
                        archiveKey),
                        config.stateDir(), archiveKey),
                new SchemaApplyController(new SchemaApplyService(connector, pgTools, tools, jobs, config.stateDir()),
                        jobs),
                new PostDataController(new PostDataService(connector, pgTools, tools, jobs, config.stateDir()), jobs),
                new PreflightController(new PreflightService(connector, copy::started)),
                new ReplicationRoleController(replicationRoles),
                new PublicationController(new PublicationService(connector, config.stateDir())),
                new DatabaseController(new DatabaseService(connector)),
                new RolesController(new RolesService(connector, scopes)),
                new PrivilegesController(new PrivilegesService(connector, scopes)),
                new ReplicaIdentityController(new ReplicaIdentityService(connector, config.stateDir(), scopes)),
                new SubscriptionController(subscriptions),
                new CopyController(copy, jobs),
                new SyncStatusController(syncStatus),
                new StatusController(new StatusService(connector)),
                new LifecycleController(new LifecycleService(connector, config.stateDir())),
                // Cutover, rollback and cleanup (docs/design.md, "Cutover").
                new ReadyCheckController(new ReadyCheckService(connector, syncStatus, config.stateDir(), scopes)),
                new FenceController(new FenceService(connector, config.stateDir(), scopes)),
                new CatchUpController(new CatchUpService(connector), new SubscriberCommitService(connector)),
                new SequencesController(new SequencesService(connector, scopes)),
                new StopReplicationController(new StopReplicationService(connector, config.stateDir())),
                new ReverseReplicationController(new ReverseReplicationService(connector, replicationRoles,
                        config.stateDir(), scopes)),
                new VerifyController(new VerifyService(connector, scopes)),
                new RowCountsController(new RowCountsService(connector, scopes)),
                new CleanupController(new CleanupService(connector, config.stateDir())),
                new LargeObjectsController(new LargeObjectsService(connector, config.stateDir())),
                new LeftBehindController(new LeftBehindService(connector, scopes)),
                new MaterializedViewsController(new MaterializedViewsService(connector, jobs, scopes), jobs),
                new OrphansController(new OrphansService(connector)),
                new TransactionsController(new TransactionsService(connector))
        );
    }
}
