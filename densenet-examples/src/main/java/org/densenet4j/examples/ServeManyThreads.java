package org.densenet4j.examples;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.densenet4j.engine.ConcurrentPredictor;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Example: serve predictions to many threads with {@link ConcurrentPredictor} (a pool of compiled
 * replicas of one model; each request takes one, runs, and gives it back), reporting throughput
 * and latency.
 *
 * <pre>
 * ./densenet example ServeManyThreads densenet-fmnist 8 200    # 8 client threads, 200 requests each
 * </pre>
 */
public final class ServeManyThreads {

    /** What a run measured: every request's output (by thread, then request), latencies in ms, requests per second. */
    public record Served(List<List<INDArray>> outputs, double[] latencies, double perSecond) {
    }

    private ServeManyThreads() {
    }

    public static void main(String[] args) throws Exception {
        String model = args.length > 0 ? args[0] : "densenet-fmnist";
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        int requests = args.length > 2 ? Integer.parseInt(args[2]) : 50;
        ImageModel m = ImageModel.load(model);
        List<INDArray> images = new ArrayList<>();
        for (var file : FashionMnist.sampleFiles(Files.createTempDirectory("samples"))) {
            images.add(m.preprocess(List.of(file))); // the model's own transform: resize, crop, normalisation
        }
        Served s = serve(m, images, threads, requests, 2);
        double[] l = s.latencies().clone();
        Arrays.sort(l);
        System.out.printf("%d threads x %d requests: %.1f requests/s, latency p50 %.1f ms, p99 %.1f ms%n", threads,
                requests, s.perSecond(), l[l.length / 2], l[(int) (l.length * 0.99)]);
    }

    /**
     * {@code threads} clients each sending {@code requests} of {@code images} (in turn) to {@code replicas} replicas.
     */
    public static Served serve(ImageModel model, List<INDArray> images, int threads, int requests, int replicas)
            throws Exception {
        try (ConcurrentPredictor predictor = new ConcurrentPredictor(model.net(), replicas)) {
            ExecutorService clients = Executors.newFixedThreadPool(threads);
            double[] latencies = new double[threads * requests];
            long start = System.nanoTime();
            List<Future<List<INDArray>>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int client = t;
                futures.add(clients.submit(() -> {
                    List<INDArray> out = new ArrayList<>();
                    for (int r = 0; r < requests; r++) {
                        long t0 = System.nanoTime();
                        out.add(predictor.predict(images.get((client + r) % images.size())));   // thread-safe
                        latencies[client * requests + r] = (System.nanoTime() - t0) / 1e6;
                    }
                    return out;
                }));
            }
            List<List<INDArray>> outputs = new ArrayList<>();
            for (Future<List<INDArray>> f : futures) {
                outputs.add(f.get());
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            clients.shutdown();
            return new Served(outputs, latencies, threads * requests / seconds);
        }
    }
}
