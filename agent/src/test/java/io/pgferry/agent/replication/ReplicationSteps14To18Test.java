package io.pgferry.agent.replication;

/** The oldest supported source to the newest target: binary and catalog differences show up here. */
class ReplicationSteps14To18Test extends ReplicationStepsContract {
    @Override
    int sourceMajor() {
        return 14;
    }

    @Override
    int targetMajor() {
        return 18;
    }
}
