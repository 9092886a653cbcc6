package org.densenet4j.spark.cli;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lower;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.densenet4j.spark.DenseNetFeaturizer;
import org.densenet4j.spark.ImagePaths;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code densenet spark-features}: {@code features} of a folder of images, on Spark. */
@Command(name = "spark-features", mixinStandardHelpOptions = true,
        description = "Write the pooled features of a folder of images (as 'densenet features' does) with Spark: "
                + "CSV parts with a header (file, f0, f1, ...) in the --out folder. Images that do not decode are "
                + "reported and left out; the job goes on.")
final class SparkFeaturesCommand implements Callable<Integer> {

    /** What {@code densenet features} reads from a folder. */
    static final String IMAGE_FILES = ".*\\.(jpe?g|png|bmp|gif|tiff?)$";

    @Spec
    CommandSpec spec;

    @Option(names = "--master", description = "Spark master, e.g. local[2] (default: spark-submit's, else local[*]).")
    String master;

    @Option(names = "--model", required = true,
            description = "A model zip, or a preset id whose pretrained model is in the zoo cache.")
    String model;

    @Option(names = "--images", required = true, description = "A folder of images (or a Spark path glob).")
    String images;

    @Option(names = "--out", required = true, description = "The folder of CSV parts to write.")
    String out;

    @Option(names = "--batch", defaultValue = "16",
            description = "Images per forward pass (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--partitions", defaultValue = "0",
            description = "Spread the images over this many tasks (default: Spark's split of the files).")
    int partitions;

    @Option(names = "--force", description = "Replace an existing output folder.")
    boolean force;

    /**
     * A part's lines as {@code densenet features} writes its CSV: the header, then per image its
     * file (quoted) and its values (as Java prints a float).
     */
    static Iterator<String> csvLines(String header, Iterator<Row> rows) {
        return new Iterator<>() {
            private boolean headed;

            @Override
            public boolean hasNext() {
                return !headed || rows.hasNext();
            }

            @Override
            public String next() {
                if (!headed) {
                    headed = true;
                    return header;
                }
                Row r = rows.next();
                StringBuilder sb = new StringBuilder("\"").append(ImagePaths.local(r.getString(0)).replace("\"",
                        "\"\""))
                        .append('"');
                for (double v : ((Vector) r.get(1)).toArray()) {
                    sb.append(',').append((float) v);
                }
                return sb.toString();
            }
        };
    }

    @Override
    public Integer call() throws Exception {
        if (batch < 1) {
            throw new IllegalArgumentException("--batch must be at least 1, was " + batch);
        }
        if (!force && !out.contains("://") && Files.exists(Path.of(out))) {
            throw new IllegalArgumentException(out + ": exists; pass --force to replace it");
        }
        SparkSession spark = SparkCli.session("densenet spark-features", master);
        try {
            Dataset<Row> files = spark.read().format("binaryFile").load(images)
                    .filter(lower(col("path")).rlike(IMAGE_FILES));
            if (partitions > 0) {
                files = files.repartition(partitions);
            }
            Dataset<Row> featurized = new DenseNetFeaturizer().setModel(model).setInputCol("content")
                    .setBatchSize(batch).transform(files.drop("modificationTime", "length"))
                    .drop("content").persist(StorageLevel.MEMORY_AND_DISK());
            long start = System.nanoTime();
            long total = featurized.count(); // computes (and keeps) every row's features
            double seconds = (System.nanoTime() - start) / 1e9;
            List<Row> failed = featurized.filter(col("error").isNotNull()).select("path", "error").collectAsList();
            Dataset<Row> ok = featurized.filter(col("error").isNull());
            List<Row> first = ok.select("features").takeAsList(1);
            if (first.isEmpty()) {
                throw new IllegalArgumentException(images + ": none of the " + total + " images decoded"
                        + (failed.isEmpty() ? "" : " (" + failed.get(0).getString(1) + ", ...)"));
            }
            int size = ((Vector) first.get(0).get(0)).size();
            String header = "file," + java.util.stream.IntStream.range(0, size).mapToObj(i -> "f" + i)
                    .collect(java.util.stream.Collectors.joining(","));
            JavaRDD<String> lines = ok.select("path", "features").javaRDD().mapPartitions(rows -> csvLines(header,
                    rows));
            spark.createDataset(lines.rdd(), Encoders.STRING()).write()
                    .mode(force ? SaveMode.Overwrite : SaveMode.ErrorIfExists).option("compression", "none").text(out);
            var err = spec.commandLine().getErr();
            for (Row r : failed) {
                err.println("not decoded: " + r.getString(1));
            }
            spec.commandLine().getOut().printf(Locale.ROOT, "%d images x %d features written to %s%s; features "
                    + "computed in %.1f s (%.1f images/s)%n", total - failed.size(), size, out,
                    failed.isEmpty() ? "" : "; " + failed.size() + " did not decode (above)", seconds, total / seconds);
            featurized.unpersist();
            return 0;
        } finally {
            spark.stop();
        }
    }
}
