package org.densenet4j.spark.training;

import java.util.Collection;
import java.util.Map;
import java.util.WeakHashMap;

import org.apache.spark.broadcast.Broadcast;
import org.deeplearning4j.core.storage.StatsStorageRouterProvider;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.deeplearning4j.spark.api.TrainingHook;
import org.deeplearning4j.spark.api.WorkerConfiguration;
import org.deeplearning4j.spark.api.worker.NetBroadcastTuple;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingResult;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingWorker;
import org.densenet4j.spark.TaskCores;
import org.densenet4j.training.TrainingStep;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;

/**
 * DL4J's parameter-averaging worker, each minibatch fitted by the compiled trainer where it can run
 * the graph ({@link TrainingStep}: the same update as {@code graph.fit()}, several times faster),
 * else by {@code graph.fit()}. Training hooks are not called (DL4J calls them around its own fit).
 */
final class CompiledTrainingWorker extends ParameterAveragingTrainingWorker {

    private static final long serialVersionUID = 1L;

    /** The step of each graph this worker trains (DL4J makes one per averaging round), made on its first minibatch. */
    private transient Map<ComputationGraph, TrainingStep> steps;

    CompiledTrainingWorker(Broadcast<NetBroadcastTuple> broadcast, boolean saveUpdater,
            WorkerConfiguration configuration,
                           Collection<TrainingHook> hooks, Collection<TrainingListener> listeners,
                           StatsStorageRouterProvider router) {
        super(broadcast, saveUpdater, configuration, hooks, listeners, router);
    }

    @Override
    public ParameterAveragingTrainingResult processMinibatch(MultiDataSet batch, ComputationGraph graph,
            boolean isLast) {
        if (batch.numFeatureArrays() != 1 || batch.numLabelsArrays() != 1 || batch.getFeaturesMaskArrays() != null
                || batch.getLabelsMaskArrays() != null) {
            return super.processMinibatch(batch, graph, isLast);
        }
        TaskCores.use();
        step(graph).fit(new DataSet(batch.getFeatures(0), batch.getLabels(0)));
        return isLast ? getFinalResult(graph) : null;
    }

    private synchronized TrainingStep step(ComputationGraph graph) {
        if (steps == null) {
            steps = new WeakHashMap<>();
        }
        return steps.computeIfAbsent(graph, g -> TrainingStep.of(g, true));
    }
}
