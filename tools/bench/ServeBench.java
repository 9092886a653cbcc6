import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.UnaryOperator;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.parallelism.ParallelInference;
import org.deeplearning4j.parallelism.inference.InferenceMode;
import org.densenet4j.engine.BatchingPredictor;
import org.densenet4j.engine.ConcurrentPredictor;
import org.densenet4j.zoo.DenseNet121;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Serving DenseNet-121 (random weights) to client threads sending single 224x224 images, in one run:
 * BatchingPredictor, ConcurrentPredictor (one request per replica) and DL4J's ParallelInference in
 * BATCHED mode. Prints requests/s and p50/p99 latency of each.
 * Usage (tools/bench/serve_bench.sh builds the class path): java -cp CP tools/bench/ServeBench.java [CLIENTS] [REQUESTS] [ROUNDS]
 */
public class ServeBench {
    public static void main(String[] args) throws Exception {
        int clients = args.length > 0 ? Integer.parseInt(args[0]) : 8;
        int requests = args.length > 1 ? Integer.parseInt(args[1]) : 25;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        ComputationGraph net = new DenseNet121().init();
        INDArray image = Nd4j.rand(DataType.FLOAT, 1, 3, 224, 224).muli(255);
        for (int round = 1; round <= rounds; round++) {
            try (BatchingPredictor b = new BatchingPredictor(net, new BatchingPredictor.Options(8, 256, Duration.ofMillis(2), 1))) {
                report("BatchingPredictor (batch <= 8, 2 ms, 1 worker)", round, run(b::predict, image, clients, requests));
            }
            try (BatchingPredictor b = new BatchingPredictor(net, new BatchingPredictor.Options(8, 256, Duration.ofMillis(10), 1))) {
                report("BatchingPredictor (batch <= 8, 10 ms, 1 worker)", round, run(b::predict, image, clients, requests));
            }
            try (BatchingPredictor b = new BatchingPredictor(net, new BatchingPredictor.Options(4, 256, Duration.ofMillis(5), 2))) {
                report("BatchingPredictor (batch <= 4, 5 ms, 2 workers)", round, run(b::predict, image, clients, requests));
            }
            try (ConcurrentPredictor c = new ConcurrentPredictor(net, 2)) {
                report("ConcurrentPredictor (2 replicas)", round, run(c::predict, image, clients, requests));
            }
            // Its one worker runs the model it is given: a clone on FastPath, with the oneDNN helpers DL4J
            // 1.0.0-M2.1 cannot create itself (a bare clone runs DL4J's plain layers, many times slower).
            ParallelInference pi = new ParallelInference.Builder(org.densenet4j.dl4j.FastPath.install(net.clone()))
                    .inferenceMode(InferenceMode.BATCHED)
                    .batchLimit(8).queueLimit(256).workers(1).build();
            report("DL4J ParallelInference (BATCHED, batch <= 8, 1 worker)", round, run(pi::output, image, clients, requests));
            pi.shutdown();
        }
    }

    /** Latencies (ms) of every request, then the wall time (s) as the last entry. */
    static double[] run(UnaryOperator<INDArray> server, INDArray image, int clients, int requests) throws Exception {
        for (int i = 0; i < 3; i++) {
            server.apply(image); // warm-up
        }
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        double[] latencies = new double[clients * requests + 1];
        long start = System.nanoTime();
        List<Future<?>> done = new ArrayList<>();
        for (int t = 0; t < clients; t++) {
            int client = t;
            done.add(pool.submit(() -> {
                for (int r = 0; r < requests; r++) {
                    long t0 = System.nanoTime();
                    server.apply(image);
                    latencies[client * requests + r] = (System.nanoTime() - t0) / 1e6;
                }
                return null;
            }));
        }
        for (Future<?> f : done) {
            f.get();
        }
        latencies[clients * requests] = (System.nanoTime() - start) / 1e9;
        pool.shutdown();
        return latencies;
    }

    static void report(String name, int round, double[] l) {
        int n = l.length - 1;
        double seconds = l[n];
        double[] sorted = Arrays.copyOf(l, n);
        Arrays.sort(sorted);
        System.out.printf("round %d  %-55s %6.1f requests/s  p50 %7.1f ms  p99 %7.1f ms%n", round, name, n / seconds,
                sorted[n / 2], sorted[Math.min(n - 1, (int) Math.ceil(n * 0.99) - 1)]);
    }
}
