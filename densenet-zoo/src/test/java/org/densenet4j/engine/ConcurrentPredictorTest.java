package org.densenet4j.engine;

import org.densenet4j.dl4j.FastPath;
import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.TinyNets;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Many threads get the outputs one thread gets, from compiled replicas or from clones of the graph. */
class ConcurrentPredictorTest {

    @Test
    void compiledReplicasMatchTheGraph() {
        eightThreadsTimesAHundredPredictionsMatchSingleThreaded(true);
    }

    @Test
    void graphClonesMatchTheGraphExactly() {
        eightThreadsTimesAHundredPredictionsMatchSingleThreaded(false);
    }

    private static void eightThreadsTimesAHundredPredictionsMatchSingleThreaded(boolean compiled) {
        ComputationGraph built = new DenseNetZooModel("tiny", TinyNets.tinyBc().build()).init();
        // A graph the compiled engine does not take (an identity vertex) gets clones of itself instead.
        ComputationGraph net = compiled ? built : withIdentityVertex(built);
        assertEquals(compiled && CompiledGraph.available(), CompiledGraph.tryCompile(net).isPresent());
        List<INDArray> inputs = new ArrayList<>();
        List<INDArray> expected = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            INDArray x = TinyNets.bars(1 + i % 4, 12, 100 + i).getFeatures();
            inputs.add(x);
            expected.add(net.outputSingle(x).dup());
        }
        assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
            try (ConcurrentPredictor predictor = new ConcurrentPredictor(net, 2)) {
                assertTrue(FastPath.runsIn(net), "the zoo's graph runs the fast path, and so do its replicas");
                ExecutorService pool = Executors.newFixedThreadPool(8);
                List<Future<Integer>> threads = new ArrayList<>();
                for (int t = 0; t < 8; t++) {
                    int thread = t;
                    threads.add(pool.submit(() -> {
                        int checked = 0;
                        for (int i = 0; i < 100; i++) {
                            int k = (thread * 7 + i) % inputs.size();
                            INDArray actual = predictor.predict(inputs.get(k));
                            if (compiled) {
                                CompiledGraphTest.assertClose(expected.get(k), actual,
                                        "thread " + thread + ", prediction " + i);
                            } else {
                                assertEquals(expected.get(k), actual, "thread " + thread + ", prediction " + i);
                            }
                            checked++;
                        }
                        return checked;
                    }));
                }
                int total = 0;
                for (Future<Integer> f : threads) {
                    total += f.get();
                }
                pool.shutdown();
                assertEquals(800, total);
            }
        });
    }

    @Test
    void closeReleasesEveryCompiledReplica() {
        assumeTrue(CompiledGraph.available(), "oneDNN's natives are not loaded");
        ComputationGraph net = new DenseNetZooModel("tiny", TinyNets.tinyBc().build()).init();
        INDArray x = TinyNets.bars(2, 12, 7).getFeatures();
        ConcurrentPredictor predictor = new ConcurrentPredictor(net, 3);
        List<CompiledGraph> replicas = predictor.compiledReplicas();
        assertEquals(3, replicas.size());
        for (CompiledGraph replica : replicas) {
            replica.output(x); // each replica plans its buffers and converts its weights
        }
        predictor.close();
        for (CompiledGraph replica : replicas) {
            assertTrue(replica.isClosed(), "every replica's native memory is released");
            assertThrows(IllegalStateException.class, () -> replica.output(x));
        }
        assertThrows(IllegalStateException.class, () -> predictor.predict(x));
        predictor.close(); // a second close is harmless
        CompiledGraphTest.assertClose(net.outputSingle(x), CompiledGraph.compile(net).outputSingle(x),
                "the model itself is untouched by closing its replicas");
    }

    /** {@code net}'s configuration and parameters with an identity vertex before its output layer. */
    private static ComputationGraph withIdentityVertex(ComputationGraph net) {
        var conf = net.getConfiguration().clone();
        String out = conf.getNetworkOutputs().get(0);
        List<String> outInputs = conf.getVertexInputs().get(out);
        conf.getVertices().put("identity", new org.deeplearning4j.nn.conf.graph.ScaleVertex(1.0));
        conf.getVertexInputs().put("identity", new ArrayList<>(outInputs));
        conf.getVertexInputs().put(out, List.of("identity"));
        ComputationGraph copy = new ComputationGraph(conf);
        copy.init(net.params().dup(), false);
        return FastPath.install(copy);
    }
}
