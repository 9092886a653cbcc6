package org.densenet4j.spark;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * What the DenseNet Spark ML stages share: the model (a model zip or a preset id, broadcast to the
 * executors once per job), the image column, the batch size and the error column; each partition's
 * images decoded and run through the compiled engine in batches, with the model's own image transform
 * (the resize, crop and normalisation its card records). An image that does not decode gets nulls in
 * the output columns and the reason in
 * the error column; the job goes on.
 */
public abstract class DenseNetTransformer extends Transformer implements DefaultParamsWritable {

    private static final long serialVersionUID = 1L;

    private final String uid;
    private final Param<String> model;
    private final Param<String> inputCol;
    private final Param<String> errorCol;
    private final IntParam batchSize;

    protected DenseNetTransformer(String uid) {
        this.uid = uid;
        this.model = new Param<>(this, "model", "a model zip (on the driver's file system) or a preset id");
        this.inputCol = new Param<>(this, "inputCol", "the image column: binary image files (the binaryFile data "
                + "source's 'content') or Spark's image struct (the image data source's 'image')");
        this.errorCol = new Param<>(this, "errorCol",
                "the column for why an image could not be decoded (null when it was)");
        this.batchSize = new IntParam(this, "batchSize", "images per forward pass", ParamValidators.gtEq(1));
        setDefault(inputCol, "image");
        setDefault(errorCol, "error");
        setDefault(batchSize, 16);
    }

    @Override
    public String uid() {
        return uid;
    }

    /** The model: a model zip or a preset id. */
    public Param<String> model() {
        return model;
    }

    /** The image column (default {@code image}). */
    public Param<String> inputCol() {
        return inputCol;
    }

    /** The error column (default {@code error}). */
    public Param<String> errorCol() {
        return errorCol;
    }

    /** Images per forward pass (default 16). */
    public IntParam batchSize() {
        return batchSize;
    }

    public DenseNetTransformer setModel(String value) {
        set(model, value);
        return this;
    }

    public DenseNetTransformer setInputCol(String value) {
        set(inputCol, value);
        return this;
    }

    public DenseNetTransformer setErrorCol(String value) {
        set(errorCol, value);
        return this;
    }

    public DenseNetTransformer setBatchSize(int value) {
        set(batchSize, value);
        return this;
    }

    public String getModel() {
        return $(model);
    }

    public String getInputCol() {
        return $(inputCol);
    }

    public String getErrorCol() {
        return $(errorCol);
    }

    public int getBatchSize() {
        return (Integer) $(batchSize);
    }

    /** The columns this stage adds before the error column. */
    protected abstract List<StructField> outputFields();

    /** What this stage computes from a batch of decoded images. */
    protected abstract Computation computation();

    /** The output values of a batch of images: one array of the {@link #outputFields()}' values per image. */
    protected interface Computation extends Serializable {
        List<Object[]> apply(ModelRunner runner, List<float[]> images);
    }

    @Override
    public StructType transformSchema(StructType schema) {
        ImageInput.of(schema, getInputCol()); // the column exists and is of a kind this reads
        List<StructField> fields = new ArrayList<>(Arrays.asList(schema.fields()));
        List<StructField> added = new ArrayList<>(outputFields());
        added.add(DataTypes.createStructField(getErrorCol(), DataTypes.StringType, true));
        for (StructField f : added) {
            if (Arrays.asList(schema.fieldNames()).contains(f.name())) {
                throw new IllegalArgumentException("output column '" + f.name() + "' already exists");
            }
            fields.add(f);
        }
        return DataTypes.createStructType(fields);
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        if (!isDefined(model)) {
            throw new IllegalArgumentException(getClass().getSimpleName()
                    + ": set the model (a model zip or a preset id)");
        }
        StructType out = transformSchema(dataset.schema());
        ImageInput input = ImageInput.of(dataset.schema(), getInputCol());
        ModelSource source;
        try {
            source = ModelSource.of(getModel());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        SparkSession spark = dataset.sparkSession();
        Broadcast<ModelSource> shipped = JavaSparkContext.fromSparkContext(spark.sparkContext()).broadcast(source);
        int batch = getBatchSize();
        int outputs = outputFields().size();
        Computation computation = computation();
        JavaRDD<Row> rows = dataset.toDF().javaRDD().mapPartitions(
                partition -> new Batches(partition, shipped.value(), input, batch, outputs, computation));
        return spark.createDataFrame(rows, out);
    }

    /** A partition's rows, with their outputs appended, computed a batch at a time. */
    private static final class Batches implements Iterator<Row> {
        private final Iterator<Row> rows;
        private final ModelSource source;
        private final ImageInput input;
        private final int batch;
        private final int outputs;
        private final Computation computation;
        private Iterator<Row> done = java.util.Collections.emptyIterator();

        Batches(Iterator<Row> rows, ModelSource source, ImageInput input, int batch, int outputs,
                Computation computation) {
            this.rows = rows;
            this.source = source;
            this.input = input;
            this.batch = batch;
            this.outputs = outputs;
            this.computation = computation;
        }

        @Override
        public boolean hasNext() {
            if (!done.hasNext() && rows.hasNext()) {
                done = next(batch).iterator();
            }
            return done.hasNext();
        }

        @Override
        public Row next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            return done.next();
        }

        private List<Row> next(int n) {
            ModelRunner runner = ModelRunner.acquire(source);
            try {
                return next(n, runner);
            } finally {
                runner.release();
            }
        }

        private List<Row> next(int n, ModelRunner runner) {
            List<Row> in = new ArrayList<>();
            List<ImageInput.Decoded> decoded = new ArrayList<>();
            List<float[]> images = new ArrayList<>();
            while (in.size() < n && rows.hasNext()) {
                Row r = rows.next();
                ImageInput.Decoded d = input.decode(r, runner.transform(), runner.channels());
                in.add(r);
                decoded.add(d);
                if (d.pixels() != null) {
                    images.add(d.pixels());
                }
            }
            List<Object[]> values = images.isEmpty() ? List.of() : computation.apply(runner, images);
            List<Row> result = new ArrayList<>(in.size());
            int next = 0;
            for (int i = 0; i < in.size(); i++) {
                Row r = in.get(i);
                Object[] all = new Object[r.size() + outputs + 1];
                for (int j = 0; j < r.size(); j++) {
                    all[j] = r.get(j);
                }
                if (decoded.get(i).pixels() != null) {
                    System.arraycopy(values.get(next++), 0, all, r.size(), outputs);
                } else {
                    all[r.size() + outputs] = decoded.get(i).error();
                }
                result.add(RowFactory.create(all));
            }
            return result;
        }
    }
}
