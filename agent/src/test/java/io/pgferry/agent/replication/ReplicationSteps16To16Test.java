package io.pgferry.agent.replication;

/** Same major on both sides, and a 16+ target (substream as a char, leader_pid in pg_stat_subscription). */
class ReplicationSteps16To16Test extends ReplicationStepsContract {
    @Override
    int sourceMajor() {
        return 16;
    }

    @Override
    int targetMajor() {
        return 16;
    }
}
