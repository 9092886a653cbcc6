package org.densenet4j.training;

import org.nd4j.linalg.schedule.CycleSchedule;
import org.nd4j.linalg.schedule.FixedSchedule;
import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.linalg.schedule.ScheduleType;

/**
 * A one-cycle learning-rate schedule over a whole run: {@code lr/10} up to {@code lr} over 45% of
 * the iterations, back to {@code lr/10} over the next 45%, then decaying to {@code lr/1000}.
 * DL4J's three-argument CycleSchedule decays by 10x per iteration in its last 10%, which wastes
 * them. {@code tools/bench/torch_train_fashion.py} computes the same schedule.
 */
public final class OneCycle {

    private OneCycle() {
    }

    /** The schedule for {@code iterations} steps peaking at {@code lr}; constant for runs too short to have a cycle. */
    public static ISchedule schedule(double lr, int iterations) {
        if (iterations < 20) {
            return new FixedSchedule(lr);
        }
        int annealing = (int) Math.round(iterations * 0.1);
        return new CycleSchedule(ScheduleType.ITERATION, lr / 10, lr, iterations, annealing,
                Math.pow(0.01, 1.0 / annealing));
    }
}
