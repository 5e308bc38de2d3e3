package io.pgferry.agent;

import io.pgferry.agent.config.AgentConfig;
import io.pgferry.agent.database.DatabaseController;
import io.pgferry.agent.database.DatabaseService;
import io.pgferry.agent.http.RouteGroup;
import io.pgferry.agent.info.InfoService;
import io.pgferry.agent.jobs.JobRunner;
import io.pgferry.agent.jobs.JobsController;
import io.pgferry.agent.postdata.PostDataController;
import io.pgferry.agent.postdata.PostDataService;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.postgres.PgProcess;
import io.pgferry.agent.preflight.PreflightController;
import io.pgferry.agent.preflight.PreflightService;
import io.pgferry.agent.publication.PublicationController;
import io.pgferry.agent.publication.PublicationService;
import io.pgferry.agent.replicationrole.ReplicationRoleController;
import io.pgferry.agent.replicationrole.ReplicationRoleService;
import io.pgferry.agent.schemaapply.SchemaApplyController;
import io.pgferry.agent.schemaapply.SchemaApplyService;
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
import io.pgferry.agent.cleanup.CleanupController;
import io.pgferry.agent.cleanup.CleanupService;
import io.pgferry.agent.fence.FenceController;
import io.pgferry.agent.fence.FenceService;
import io.pgferry.agent.orphans.OrphansController;
import io.pgferry.agent.orphans.OrphansService;
import io.pgferry.agent.readycheck.ReadyCheckController;
import io.pgferry.agent.readycheck.ReadyCheckService;
import io.pgferry.agent.reversereplication.ReverseReplicationController;
import io.pgferry.agent.reversereplication.ReverseReplicationService;
import io.pgferry.agent.sequences.SequencesController;
import io.pgferry.agent.sequences.SequencesService;
import io.pgferry.agent.stopreplication.StopReplicationController;
import io.pgferry.agent.stopreplication.StopReplicationService;
import io.pgferry.agent.verify.VerifyController;
import io.pgferry.agent.verify.VerifyService;
import java.util.List;
import java.util.Optional;

/** The migration steps the agent serves, each a feature package with its own routes. */
final class Features {
    private Features() {
    }

    static List<RouteGroup> all(AgentConfig config, PgConnector connector, InfoService info) {
        // One runner for every long step: the agent runs one long operation at a time.
        JobRunner jobs = new JobRunner();
        PgProcess tools = new PgProcess(config.postgres(), config.stateDir());
        Optional<ArchiveKey> archiveKey = config.archiveKey().map(ArchiveKey::of);
        return List.of(
                new JobsController(jobs),
                new SchemaArchiveController(new SchemaArchiveService(connector, info, tools, config.stateDir(),
                        archiveKey),
                        config.stateDir()),
                new SchemaApplyController(new SchemaApplyService(connector, info, tools, jobs, config.stateDir()),
                        jobs, config.stateDir(), archiveKey),
                new PostDataController(new PostDataService(connector, info, tools, jobs, config.stateDir()), jobs),
                new PreflightController(new PreflightService(connector)),
                new ReplicationRoleController(new ReplicationRoleService(connector)),
                new PublicationController(new PublicationService(connector)),
                new DatabaseController(new DatabaseService(connector)),
                new SubscriptionController(new SubscriptionService(connector)),
                new SyncStatusController(new SyncStatusService(connector)),
                new StatusController(new StatusService(connector)),
                // Cutover, rollback and cleanup (docs/design.md, "Cutover").
                new ReadyCheckController(new ReadyCheckService(connector, new SyncStatusService(connector),
                        config.stateDir())),
                new FenceController(new FenceService(connector, config.stateDir())),
                new CatchUpController(new CatchUpService(connector)),
                new SequencesController(new SequencesService(connector, config.stateDir())),
                new StopReplicationController(new StopReplicationService(connector)),
                new ReverseReplicationController(new ReverseReplicationService(connector,
                        new ReplicationRoleService(connector), config.stateDir())),
                new VerifyController(new VerifyService(connector, config.stateDir())),
                new CleanupController(new CleanupService(connector, config.stateDir())),
                new OrphansController(new OrphansService(connector))
        );
    }
}
