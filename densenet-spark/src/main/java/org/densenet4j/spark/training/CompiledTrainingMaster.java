package org.densenet4j.spark.training;

import org.apache.spark.broadcast.Broadcast;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.api.RDDTrainingApproach;
import org.deeplearning4j.spark.api.Repartition;
import org.deeplearning4j.spark.api.RepartitionStrategy;
import org.deeplearning4j.spark.api.WorkerConfiguration;
import org.deeplearning4j.spark.api.worker.NetBroadcastTuple;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingWorker;

/**
 * DL4J's synchronous parameter-averaging Spark training ({@link ParameterAveragingTrainingMaster}:
 * each worker fits {@code averagingFrequency} minibatches from the averaged parameters, then the
 * parameters and updater state are averaged on the driver), with each worker's steps run by the
 * compiled trainer ({@link CompiledTrainingWorker}) instead of {@code graph.fit()}. The DataSets of
 * the RDD are trained on directly (no export to files), each one a worker's minibatch.
 */
public final class CompiledTrainingMaster extends ParameterAveragingTrainingMaster {

    private static final long serialVersionUID = 1L;

    /**
     * @param workers            the workers (Spark tasks) per averaging round
     * @param batch              the examples per DataSet of the RDD, each a worker's minibatch
     * @param averagingFrequency the minibatches each worker fits between averagings
     * @param seed               the seed of DL4J's random split of the RDD into averaging rounds
     */
    public CompiledTrainingMaster(int workers, int batch, int averagingFrequency, long seed) {
        super(true, workers, batch, batch, averagingFrequency, 2, 0, Repartition.Always, RepartitionStrategy.Balanced,
                false);
        this.rddTrainingApproach = RDDTrainingApproach.Direct;
        this.rng = new java.util.Random(seed); // else each run splits the data into rounds differently
    }

    @Override
    public ParameterAveragingTrainingWorker getWorkerInstance(SparkComputationGraph network) {
        ComputationGraph net = network.getNetwork();
        Broadcast<NetBroadcastTuple> broadcast = network.getSparkContext().broadcast(new NetBroadcastTuple(
                net.getConfiguration(), net.params(), net.getUpdater().getStateViewArray()));
        WorkerConfiguration configuration = new WorkerConfiguration(true, rddDataSetNumExamples, batchSizePerWorker,
                averagingFrequency, prefetchNumBatches, collectTrainingStats);
        return new CompiledTrainingWorker(broadcast, saveUpdater, configuration, trainingHookList, listeners,
                getRouterProvider());
    }
}
