/*
 * The screen's hot loops in C: built only with the compiled build (SOLVENT_COMPILE=1,
 * tools/install-compiled.sh); without it solvent uses numpy, or numba when installed.
 *
 *   tick(margins, rows, slope_h, slope_f, low, high, delta, price[, threads]) -> list of candidate rows
 *   scatter_columns(moving, columns, block_rows[, threads])   moving[row, :] += slope x price, per column
 *   margins(margins, record, moving, rows[, threads])         margin = sign x constant + moving - band
 *   shift(margins, record, shifts) -> list of flagged rows  (HealthScreen.shift's loop)
 *   flush(screen arrays..., staged, ...) -> rows left to Python  (HealthScreen.flush's common case)
 *   retier(screen arrays..., row, oracle, line, shift, ...) -> 1, 0 or -1  (HealthScreen.retier's)
 *   restate(screen arrays..., row, oracle, line, health, free, ...) -> 1, 0 or -1  (HealthScreen.restate's
 *                                                                   common case)
 *   flip_rows(screen arrays..., rows, free_may_fall, width) -> answers  (HealthScreen.flip's, for a batch)
 *   reset(screen arrays..., row, health, free, signs, ...) -> 1, 0 or -1  (HealthScreen.reset's)
 *
 * Each is a loop of `solvent/risk/kernels.py` (`_tick_loop`, `_scatter_loop`,
 * `_margins_loop`) or of `HealthScreen.shift` written out, with the same IEEE operations in
 * the same order: a product, rounded, then a sum, rounded. The build passes -ffp-contract=off so that no product and
 * sum are fused into one rounding, and nothing here asks for fast-math, so the results are
 * the numpy kernel's, bit for bit (tests/unit/risk/test_kernels.py checks it).
 *
 * tick, scatter_columns and margins cut their work into `threads` consecutive parts, each
 * run by its own thread with the GIL released (`run_parts`), where POSIX threads are built
 * (`THREADED`); the parts write disjoint memory, so the results do not depend on the count.
 *
 * Arguments are any contiguous buffers (numpy arrays, array.array): float64 ('d') and
 * int64 ('q' or 'l'). A buffer of the wrong kind or size raises TypeError or ValueError;
 * nothing is written before every argument has been checked — except a tick's rows, which
 * are checked as each is reached (see `tick`: a second pass over them cost a sixth of it).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <pthread.h>
#define THREADED 1 /* the large loops cut into parts, one thread each (`run_parts`); elsewhere one */
#endif

typedef struct {
    Py_buffer view;
    int held;
} Buffer;

static void release(Buffer *buffers, int count) {
    for (int i = 0; i < count; i++) {
        if (buffers[i].held) {
            PyBuffer_Release(&buffers[i].view);
            buffers[i].held = 0;
        }
    }
}

/* kind: 'd' for float64, 'q' for int64 */
static int acquire(PyObject *object, Buffer *buffer, char kind, int writable, const char *name) {
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(object, &buffer->view, flags) != 0) {
        return -1;
    }
    buffer->held = 1;
    const char *format = buffer->view.format ? buffer->view.format : "B";
    if (*format == '@' || *format == '=' || *format == '<') {
        format++;
    }
    int ok = buffer->view.itemsize == 8 && strlen(format) == 1 &&
             (kind == 'd' ? *format == 'd' : (*format == 'q' || *format == 'l'));
    if (!ok) {
        PyErr_Format(PyExc_TypeError, "%s must be a contiguous buffer of %s", name,
                     kind == 'd' ? "float64" : "int64");
        return -1;
    }
    return 0;
}

static Py_ssize_t items(Buffer *buffer) { return buffer->view.len / 8; }

/* Acquire `count` buffers (kinds[i]: 'd' or 'q'; the first `writable` of them writable), or
 * release what was acquired and return -1 with the exception set. */
static int acquire_all(PyObject **objects, Buffer *buffers, const char *kinds, const char *const *names, int count,
                       int writable) {
    for (int i = 0; i < count; i++) {
        if (acquire(objects[i], &buffers[i], kinds[i], i < writable, names[i]) != 0) {
            release(buffers, count);
            return -1;
        }
    }
    return 0;
}

/* Run `count` parts of work, part k by its own thread (part 0 by the caller), the GIL
 * released meanwhile; a part whose thread cannot start runs in the caller. One part runs
 * in the caller with the GIL held (released, it could wait a switch interval, 5 ms, to get
 * it back from another Python thread). */
#define MAX_THREADS 8
static void run_parts(void *(*work)(void *), void *parts, size_t size, Py_ssize_t count) {
    if (count <= 1) {
        work(parts);
        return;
    }
    Py_BEGIN_ALLOW_THREADS
#ifdef THREADED
    pthread_t workers[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    for (Py_ssize_t k = 1; k < count; k++) {
        started[k] = pthread_create(&workers[k], NULL, work, (char *)parts + k * size) == 0;
    }
    work(parts);
    for (Py_ssize_t k = 1; k < count; k++) {
        if (started[k]) {
            pthread_join(workers[k], NULL);
        } else {
            work((char *)parts + k * size);
        }
    }
#else
    for (Py_ssize_t k = 0; k < count; k++) {
        work((char *)parts + k * size);
    }
#endif
    Py_END_ALLOW_THREADS
}

/* How many parts `items` of work are cut into for `threads` threads, each part at least
 * `least` items (1 where threads are not built). */
static Py_ssize_t parts_for(Py_ssize_t items, long threads, Py_ssize_t least) {
#ifdef THREADED
    Py_ssize_t parts = threads < 1 ? 1 : threads > MAX_THREADS ? MAX_THREADS : threads;
    if (parts > 1 && items / parts < least) {
        parts = items / least > 1 ? items / least : 1;
    }
    return parts;
#else
    (void)items;
    (void)threads;
    (void)least;
    return 1;
#endif
}

/* A tick's lines [start, stop), moved by one thread: each row's two margins moved by the
 * line's slopes times `delta`, and the row kept in `found` if it is a candidate. Touches no
 * Python object (it runs without the GIL). */
typedef struct {
    double *health, *free_;
    const long long *rows;
    const double *slope_h, *slope_f, *low, *high;
    double delta, price;
    Py_ssize_t start, stop, capacity;
    long long *found;
    Py_ssize_t count, room;
    int failed; /* 1: out of memory; 2: a row outside the margins (the part stopped before it) */
} TickPart;

static void *tick_part(void *argument) {
    TickPart *part = (TickPart *)argument;
    double *health = part->health, *free_ = part->free_;
    const long long *rows = part->rows;
    const double *slope_h = part->slope_h, *slope_f = part->slope_f, *low = part->low, *high = part->high;
    const double delta = part->delta, price = part->price;
    const Py_ssize_t capacity = part->capacity, stop = part->stop;
    for (Py_ssize_t i = part->start; i < stop; i++) {
        long long row = rows[i];
        if (row < 0 || row >= capacity) {
            part->failed = 2;
            return NULL;
        }
        double h = health[row];
        double f = free_[row];
        if (delta != 0.0) {
            double moved_h = slope_h[i] * delta;
            double moved_f = slope_f[i] * delta;
            h = h + moved_h;
            f = f + moved_f;
            health[row] = h;
            free_[row] = f;
        }
        if (h <= 0.0 || f <= 0.0 || low[i] >= price || high[i] < price) {
            if (part->count == part->room) {
                Py_ssize_t room = part->room ? 2 * part->room : 1024;
                long long *grown = (long long *)realloc(part->found, (size_t)room * sizeof(long long));
                if (grown == NULL) {
                    part->failed = 1;
                    return NULL;
                }
                part->found = grown;
                part->room = room;
            }
            part->found[part->count++] = row;
        }
    }
    return NULL;
}

/* tick(margins, rows, slope_h, slope_f, low, high, delta, price[, threads]) -> candidate rows
 *
 * With `threads` > 1 (and at least TICK_PART_LINES lines a part), the lines are cut into
 * that many consecutive parts, each moved by its own thread with the GIL released: the
 * rows of one oracle's column are distinct (a row has one line per oracle), so the parts
 * write disjoint margins, and the candidates are the parts' in order — the same rows, the
 * same bits, whatever the count. Each row is checked as it is reached: a row outside the
 * margins raises ValueError, and lines before it in its part, and lines of the other parts,
 * have moved (a column is only ever built by the screen, which keeps its rows within its
 * margins; the check keeps a bad buffer from writing outside them). */
#define TICK_PART_LINES 65536

static PyObject *tick(PyObject *self, PyObject *args) {
    PyObject *objects[6];
    double delta, price;
    long threads = 1;
    if (!PyArg_ParseTuple(args, "OOOOOOdd|l:tick", &objects[0], &objects[1], &objects[2], &objects[3],
                          &objects[4], &objects[5], &delta, &price, &threads)) {
        return NULL;
    }
    static const char *const names[6] = {"margins", "rows", "slope_h", "slope_f", "low", "high"};
    static const char kinds[6] = {'d', 'q', 'd', 'd', 'd', 'd'};
    Buffer buffers[6] = {{{0}}};
    if (acquire_all(objects, buffers, kinds, names, 6, 1) != 0) {
        return NULL;
    }
    Py_ssize_t lines = items(&buffers[1]);
    Py_ssize_t capacity = items(&buffers[0]) / 2;
    if (items(&buffers[0]) % 2 || items(&buffers[2]) != lines || items(&buffers[3]) != lines ||
        items(&buffers[4]) != lines || items(&buffers[5]) != lines) {
        release(buffers, 6);
        PyErr_SetString(PyExc_ValueError, "tick: margins must hold two rows and every line array the same length");
        return NULL;
    }
    Py_ssize_t parts = parts_for(lines, threads, TICK_PART_LINES);
    TickPart part[MAX_THREADS];
    for (Py_ssize_t k = 0; k < parts; k++) {
        part[k] = (TickPart){(double *)buffers[0].view.buf,
                             (double *)buffers[0].view.buf + capacity,
                             (const long long *)buffers[1].view.buf,
                             (const double *)buffers[2].view.buf,
                             (const double *)buffers[3].view.buf,
                             (const double *)buffers[4].view.buf,
                             (const double *)buffers[5].view.buf,
                             delta,
                             price,
                             lines * k / parts,
                             lines * (k + 1) / parts,
                             capacity,
                             NULL,
                             0,
                             0,
                             0};
    }
    run_parts(tick_part, part, sizeof(TickPart), parts);
    release(buffers, 6);
    Py_ssize_t total = 0;
    int failed = 0;
    for (Py_ssize_t k = 0; k < parts; k++) {
        total += part[k].count;
        failed = part[k].failed > failed ? part[k].failed : failed;
    }
    PyObject *found = failed ? NULL : PyList_New(total);
    if (found != NULL) {
        Py_ssize_t at = 0;
        for (Py_ssize_t k = 0; k < parts && found != NULL; k++) {
            for (Py_ssize_t i = 0; i < part[k].count; i++) {
                PyObject *value = PyLong_FromLongLong(part[k].found[i]);
                if (value == NULL) {
                    Py_CLEAR(found);
                    break;
                }
                PyList_SET_ITEM(found, at++, value);
            }
        }
    } else if (failed == 2) {
        PyErr_SetString(PyExc_ValueError, "tick: a row is outside the margins");
    } else if (failed == 1) {
        PyErr_NoMemory();
    }
    for (Py_ssize_t k = 0; k < parts; k++) {
        free(part[k].found);
    }
    return found;
}

/* One column of a full re-anchor's scatter: its arrays, its oracle's price, and where its
 * lines are by block of rows. A column whose rows ascend (every column a bulk load builds)
 * is read in order, a cursor moving from block to block; any other has its line numbers
 * grouped by block once (a stable counting sort: `order`, `starts`). */
typedef struct {
    Buffer arrays[3]; /* rows, slope_h, slope_f */
    int acquired;
    double price;
    Py_ssize_t lines;
    Py_ssize_t cursor;
    Py_ssize_t *order;  /* NULL for an ascending column */
    Py_ssize_t *starts; /* per block, its first entry in `order` (blocks + 1 of them) */
} ScatterColumn;

static void release_scatter(ScatterColumn *columns, Py_ssize_t count) {
    for (Py_ssize_t k = 0; k < count; k++) {
        if (columns[k].acquired) {
            release(columns[k].arrays, 3);
        }
        PyMem_Free(columns[k].order);
        PyMem_Free(columns[k].starts);
    }
    PyMem_Free(columns);
}

/* Read column k's tuple, check its rows (every one in [0, capacity)) and place its lines by
 * block. 0, or -1 with an exception set. */
static int open_scatter_column(PyObject *entry, ScatterColumn *column, Py_ssize_t capacity, Py_ssize_t block_rows,
                               Py_ssize_t blocks) {
    if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 4) {
        PyErr_SetString(PyExc_TypeError, "scatter_columns: each column must be (rows, slope_h, slope_f, price)");
        return -1;
    }
    column->price = PyFloat_AsDouble(PyTuple_GET_ITEM(entry, 3));
    if (column->price == -1.0 && PyErr_Occurred()) {
        return -1;
    }
    static const char *const names[3] = {"rows", "slope_h", "slope_f"};
    PyObject *objects[3] = {PyTuple_GET_ITEM(entry, 0), PyTuple_GET_ITEM(entry, 1), PyTuple_GET_ITEM(entry, 2)};
    if (acquire_all(objects, column->arrays, "qdd", names, 3, 0) != 0) {
        return -1;
    }
    column->acquired = 1;
    Py_ssize_t lines = column->lines = items(&column->arrays[0]);
    if (items(&column->arrays[1]) != lines || items(&column->arrays[2]) != lines) {
        PyErr_SetString(PyExc_ValueError, "scatter_columns: every line array of a column must have the same length");
        return -1;
    }
    const long long *rows = (const long long *)column->arrays[0].view.buf;
    int ascending = 1;
    for (Py_ssize_t i = 0; i < lines; i++) { /* (one pass for both: the rows' bounds, and their order) */
        if (rows[i] < 0 || rows[i] >= capacity) {
            PyErr_SetString(PyExc_ValueError, "scatter_columns: a row is outside `moving`");
            return -1;
        }
        ascending &= i == 0 || rows[i] >= rows[i - 1];
    }
    if (ascending) {
        return 0;
    }
    column->starts = PyMem_Calloc(blocks + 1, sizeof(Py_ssize_t));
    column->order = PyMem_Malloc((lines > 0 ? lines : 1) * sizeof(Py_ssize_t));
    if (column->starts == NULL || column->order == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t *starts = column->starts;
    for (Py_ssize_t i = 0; i < lines; i++) { /* count per block, shifted by one ... */
        starts[rows[i] / block_rows + 1]++;
    }
    for (Py_ssize_t b = 0; b < blocks; b++) { /* ... summed: the first entry of each block ... */
        starts[b + 1] += starts[b];
    }
    for (Py_ssize_t i = 0; i < lines; i++) { /* ... filled in line order, moving each start on ... */
        column->order[starts[rows[i] / block_rows]++] = i;
    }
    for (Py_ssize_t b = blocks; b > 0; b--) { /* ... and moved back */
        starts[b] = starts[b - 1];
    }
    starts[0] = 0;
    return 0;
}

static inline void scatter_line(double *moving, const ScatterColumn *column, Py_ssize_t i) {
    long long row = ((const long long *)column->arrays[0].view.buf)[i];
    double product_h = ((const double *)column->arrays[1].view.buf)[i] * column->price;
    double product_f = ((const double *)column->arrays[2].view.buf)[i] * column->price;
    moving[2 * row] = moving[2 * row] + product_h;
    moving[2 * row + 1] = moving[2 * row + 1] + product_f;
}

/* A full re-anchor's blocks [first, end) of rows, scattered by one thread: every column's
 * lines in those blocks, column after column (`cursors`: where this part reads each
 * ascending column). Touches no Python object (it runs without the GIL). */
typedef struct {
    const ScatterColumn *columns;
    Py_ssize_t count, block_rows, first, end;
    double *moving;
    Py_ssize_t *cursors;
} ScatterPart;

static void *scatter_part(void *argument) {
    ScatterPart *part = (ScatterPart *)argument;
    for (Py_ssize_t b = part->first; b < part->end; b++) {
        long long end = (long long)(b + 1) * part->block_rows;
        for (Py_ssize_t k = 0; k < part->count; k++) {
            const ScatterColumn *column = &part->columns[k];
            if (column->order == NULL) {
                const long long *rows = (const long long *)column->arrays[0].view.buf;
                Py_ssize_t i = part->cursors[k];
                for (; i < column->lines && rows[i] < end; i++) {
                    scatter_line(part->moving, column, i);
                }
                part->cursors[k] = i;
            } else {
                for (Py_ssize_t j = column->starts[b]; j < column->starts[b + 1]; j++) {
                    scatter_line(part->moving, column, column->order[j]);
                }
            }
        }
    }
    return NULL;
}

/* The first line of an ascending column whose row is at least `row`. */
static Py_ssize_t first_line_from(const ScatterColumn *column, long long row) {
    const long long *rows = (const long long *)column->arrays[0].view.buf;
    Py_ssize_t low = 0, high = column->lines;
    while (low < high) {
        Py_ssize_t middle = low + (high - low) / 2;
        if (rows[middle] < row) {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    return low;
}

/*
 * scatter_columns(moving, columns, block_rows[, threads]): for each column (rows, slope_h,
 * slope_f, price) in order, moving[row] += (slope_h × price, slope_f × price) for each of
 * its lines.
 *
 * Done block of rows by block of rows: for the rows [b × block_rows, (b + 1) × block_rows),
 * every column's lines there, column after column. Each row still receives its terms in
 * column order, and within a column in line order, so the sums are the bits of a scatter
 * column by column (numpy's `bincount`, numba's loop); but `moving`'s block stays in the
 * cache while the columns go by, where a whole column's scatter touched a cache line of
 * `moving` for each of its lines, each time from memory. With `threads` > 1 the blocks are
 * cut into that many consecutive runs (each of at least SCATTER_PART_BLOCKS blocks), each
 * scattered by its own thread: a block's rows are written by one part only, in the same
 * order, so the bits do not depend on the count. Nothing is written unless every column is
 * well formed.
 */
#define SCATTER_PART_BLOCKS 8

static PyObject *scatter_columns(PyObject *self, PyObject *args) {
    PyObject *moving_object, *columns;
    Py_ssize_t block_rows;
    long threads = 1;
    if (!PyArg_ParseTuple(args, "OO!n|l:scatter_columns", &moving_object, &PyList_Type, &columns, &block_rows,
                          &threads)) {
        return NULL;
    }
    if (block_rows < 1) {
        PyErr_SetString(PyExc_ValueError, "scatter_columns: block_rows must be at least 1");
        return NULL;
    }
    static const char *const names[1] = {"moving"};
    Buffer buffer[1] = {{{0}}};
    if (acquire_all(&moving_object, buffer, "d", names, 1, 1) != 0) {
        return NULL;
    }
    Py_ssize_t capacity = items(&buffer[0]) / 2;
    Py_ssize_t blocks = capacity > 0 ? (capacity - 1) / block_rows + 1 : 1;
    Py_ssize_t count = PyList_GET_SIZE(columns);
    Py_ssize_t parts = parts_for(blocks, threads, SCATTER_PART_BLOCKS);
    ScatterColumn *opened = PyMem_Calloc(count > 0 ? count : 1, sizeof(ScatterColumn));
    Py_ssize_t *cursors = PyMem_Calloc((count > 0 ? count : 1) * parts, sizeof(Py_ssize_t));
    if (opened == NULL || cursors == NULL) {
        PyMem_Free(opened);
        PyMem_Free(cursors);
        release(buffer, 1);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t k = 0; k < count; k++) {
        if (open_scatter_column(PyList_GET_ITEM(columns, k), &opened[k], capacity, block_rows, blocks) != 0) {
            release_scatter(opened, count);
            PyMem_Free(cursors);
            release(buffer, 1);
            return NULL;
        }
    }
    ScatterPart part[MAX_THREADS];
    for (Py_ssize_t p = 0; p < parts; p++) {
        Py_ssize_t first = blocks * p / parts;
        part[p] = (ScatterPart){opened, count, block_rows, first, blocks * (p + 1) / parts,
                                (double *)buffer[0].view.buf /* [row][2] */, cursors + p * count};
        for (Py_ssize_t k = 0; k < count; k++) {
            if (opened[k].order == NULL && p > 0) {
                part[p].cursors[k] = first_line_from(&opened[k], (long long)first * block_rows);
            }
        }
    }
    run_parts(scatter_part, part, sizeof(ScatterPart), parts);
    release_scatter(opened, count);
    PyMem_Free(cursors);
    release(buffer, 1);
    Py_RETURN_NONE;
}

/* Rows [first, end) of `margins`, by one thread (see `margins`). */
typedef struct {
    double *health, *free_;
    const double *record, *moving;
    Py_ssize_t first, end;
} MarginsPart;

static void *margins_part(void *argument) {
    MarginsPart *part = (MarginsPart *)argument;
    double *health = part->health, *free_ = part->free_;
    const double *record = part->record, *moving = part->moving;
    for (Py_ssize_t row = part->first; row < part->end; row++) {
        if (isfinite(health[row])) {
            const double *r = record + 5 * row;
            double band = r[4];
            double scaled_h = r[2] * r[0];
            double scaled_f = r[3] * r[1];
            double sum_h = scaled_h + moving[2 * row];
            double sum_f = scaled_f + moving[2 * row + 1];
            health[row] = sum_h - band;
            free_[row] = sum_f - band;
        } else {
            free_[row] = Py_HUGE_VAL;
        }
    }
    return NULL;
}

/* margins(margins, record, moving, rows[, threads]): every row's margins from its constants
 * and `moving` (margin = sign × constant + moving − band), rows cut into `threads`
 * consecutive runs of at least MARGINS_PART_ROWS rows, each by its own thread. */
#define MARGINS_PART_ROWS 65536

static PyObject *margins(PyObject *self, PyObject *args) {
    PyObject *objects[3];
    Py_ssize_t rows;
    long threads = 1;
    if (!PyArg_ParseTuple(args, "OOOn|l:margins", &objects[0], &objects[1], &objects[2], &rows, &threads)) {
        return NULL;
    }
    static const char *const names[3] = {"margins", "record", "moving"};
    Buffer buffers[3] = {{{0}}};
    if (acquire_all(objects, buffers, "ddd", names, 3, 1) != 0) {
        return NULL;
    }
    Py_ssize_t capacity = items(&buffers[0]) / 2;
    if (rows < 0 || rows > capacity || items(&buffers[1]) < 5 * rows || items(&buffers[2]) < 2 * rows) {
        release(buffers, 3);
        PyErr_SetString(PyExc_ValueError, "margins: the arrays are smaller than `rows`");
        return NULL;
    }
    Py_ssize_t parts = parts_for(rows, threads, MARGINS_PART_ROWS);
    MarginsPart part[MAX_THREADS];
    for (Py_ssize_t p = 0; p < parts; p++) {
        part[p] = (MarginsPart){(double *)buffers[0].view.buf, (double *)buffers[0].view.buf + capacity,
                                (const double *)buffers[1].view.buf /* [row][5] */,
                                (const double *)buffers[2].view.buf /* [row][2] */, rows * p / parts,
                                rows * (p + 1) / parts};
    }
    run_parts(margins_part, part, sizeof(MarginsPart), parts);
    release(buffers, 3);
    Py_RETURN_NONE;
}

/* A float, or an int read as a float (as Python's `+=` would); -1 with an exception otherwise. */
static int as_double(PyObject *value, double *out) {
    if (PyFloat_Check(value)) {
        *out = PyFloat_AS_DOUBLE(value);
        return 0;
    }
    if (PyLong_Check(value)) {
        *out = PyLong_AsDouble(value);
        return (*out == -1.0 && PyErr_Occurred()) ? -1 : 0;
    }
    PyErr_SetString(PyExc_TypeError, "shift: a delta must be a float");
    return -1;
}

/* shifts: a list of (row, delta_health, delta_free) tuples, applied in order (a row may
 * appear twice, as in the loop): constant += delta; margin += sign x delta; a row is flagged
 * when either margin is then <= 0. record is [row][5]: const_h, const_f, sign_h, sign_f, band. */
static PyObject *shift(PyObject *self, PyObject *args) {
    PyObject *objects[2];
    PyObject *shifts;
    if (!PyArg_ParseTuple(args, "OOO!:shift", &objects[0], &objects[1], &PyList_Type, &shifts)) {
        return NULL;
    }
    static const char *const names[2] = {"margins", "record"};
    Buffer buffers[2] = {{{0}}};
    if (acquire_all(objects, buffers, "dd", names, 2, 2) != 0) {
        return NULL;
    }
    Py_ssize_t capacity = items(&buffers[0]) / 2;
    if (items(&buffers[1]) < 5 * capacity) {
        release(buffers, 2);
        PyErr_SetString(PyExc_ValueError, "shift: record is smaller than the margins");
        return NULL;
    }
    Py_ssize_t count = PyList_GET_SIZE(shifts);
    for (Py_ssize_t i = 0; i < count; i++) { /* check every entry before moving anything */
        PyObject *entry = PyList_GET_ITEM(shifts, i);
        double unused;
        if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 3 || !PyLong_Check(PyTuple_GET_ITEM(entry, 0))) {
            release(buffers, 2);
            PyErr_SetString(PyExc_TypeError, "shift: each entry must be (row: int, delta_health: float, delta_free: float)");
            return NULL;
        }
        if (as_double(PyTuple_GET_ITEM(entry, 1), &unused) != 0 || as_double(PyTuple_GET_ITEM(entry, 2), &unused) != 0) {
            release(buffers, 2);
            return NULL;
        }
        long long row = PyLong_AsLongLong(PyTuple_GET_ITEM(entry, 0));
        if (row < 0 || row >= capacity) {
            release(buffers, 2);
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_ValueError, "shift: a row is outside the margins");
            }
            return NULL;
        }
    }
    double *health = (double *)buffers[0].view.buf;
    double *free_ = health + capacity;
    double *record = (double *)buffers[1].view.buf;
    PyObject *flagged = PyList_New(0);
    if (flagged == NULL) {
        release(buffers, 2);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *entry = PyList_GET_ITEM(shifts, i);
        PyObject *row_object = PyTuple_GET_ITEM(entry, 0);
        long long row = PyLong_AsLongLong(row_object);
        double delta_h, delta_f;  /* (checked above: cannot fail) */
        as_double(PyTuple_GET_ITEM(entry, 1), &delta_h);
        as_double(PyTuple_GET_ITEM(entry, 2), &delta_f);
        double *r = record + 5 * row;
        r[0] = r[0] + delta_h;
        r[1] = r[1] + delta_f;
        double moved_h = r[2] * delta_h;
        double moved_f = r[3] * delta_f;
        health[row] = health[row] + moved_h;
        free_[row] = free_[row] + moved_f;
        if (health[row] <= 0.0 || free_[row] <= 0.0) {
            if (PyList_Append(flagged, row_object) != 0) {
                Py_DECREF(flagged);
                release(buffers, 2);
                return NULL;
            }
        }
    }
    release(buffers, 2);
    return flagged;
}

/* A staged row's line: (oracle, slope_health, slope_free, low, high[, size]), a list or a
 * tuple; size NaN (NO_SIZE) where not given. */
typedef struct {
    long oracle;
    double slope_h, slope_f, low, high, size;
    Py_ssize_t slot;
} StagedLine;

/* The float arrays of one oracle's column, acquired the first time a row touches it. */
#define COLUMN_FLOATS 5
typedef struct {
    Buffer arrays[COLUMN_FLOATS]; /* slope_h, slope_f, low, high, size */
    int acquired;
} ColumnBuffers;

static const char *const column_fields[COLUMN_FLOATS] = {"slope_h", "slope_f", "low", "high", "size"};
/* each field's place in a column's tuple (the rows array is at 4) */
static const int column_places[COLUMN_FLOATS] = {0, 1, 2, 3, 5};

/* The first `count` of the (slope_h, slope_f, low, high, size) arrays of the column of
 * `oracle`: `columns` is the screen's list of (slope_h, slope_f, low, high, rows, size)
 * tuples, one per oracle (`_column_arrays`). */
static int acquire_fields(PyObject *columns, long oracle, Buffer *arrays, int count) {
    PyObject *owner = PyList_GET_ITEM(columns, oracle);
    if (!PyTuple_Check(owner) || PyTuple_GET_SIZE(owner) != 6) {
        PyErr_SetString(PyExc_TypeError, "a column must be the tuple of its float arrays and its rows");
        return -1;
    }
    for (int i = 0; i < count; i++) {
        if (acquire(PyTuple_GET_ITEM(owner, column_places[i]), &arrays[i], 'd', 1, column_fields[i]) != 0) {
            release(arrays, i + 1);
            return -1;
        }
    }
    return 0;
}

/* The first `count` float arrays of the column of `oracle` (4: not the sizes; COLUMN_FLOATS:
 * all), once; the rest stay unheld (released as such). */
static int acquire_column(PyObject *columns, long oracle, ColumnBuffers *column, int count) {
    if (column->acquired) {
        return 0;
    }
    if (acquire_fields(columns, oracle, column->arrays, count) != 0) {
        return -1;
    }
    column->acquired = 1;
    return 0;
}

/* The columns a batch (a flush, a flip_rows) touches, each acquired the first time it is
 * asked for: a table of pointers by oracle, the buffers allocated as they are needed (a
 * table of the buffers themselves, about 330 bytes an oracle, cost more to clear on every
 * call than the batch's own work when a tick's batch is small). */
typedef struct {
    ColumnBuffers **by_oracle;
    Py_ssize_t oracle_count;
} ColumnCache;

static int column_cache_open(ColumnCache *cache, Py_ssize_t oracle_count) {
    cache->oracle_count = oracle_count;
    cache->by_oracle = PyMem_Calloc(oracle_count > 0 ? oracle_count : 1, sizeof(ColumnBuffers *));
    if (cache->by_oracle == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

/* The column of `oracle` (0 <= oracle < oracle_count), acquired; NULL with an exception set. */
static ColumnBuffers *column_cache_get(ColumnCache *cache, PyObject *columns, Py_ssize_t oracle) {
    ColumnBuffers *column = cache->by_oracle[oracle];
    if (column != NULL) {
        return column;
    }
    column = PyMem_Calloc(1, sizeof(ColumnBuffers));
    if (column == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    if (acquire_column(columns, oracle, column, COLUMN_FLOATS) != 0) {
        PyMem_Free(column);
        return NULL;
    }
    cache->by_oracle[oracle] = column;
    return column;
}

static void column_cache_close(ColumnCache *cache) {
    if (cache->by_oracle == NULL) {
        return;
    }
    for (Py_ssize_t i = 0; i < cache->oracle_count; i++) {
        ColumnBuffers *column = cache->by_oracle[i];
        if (column != NULL) {
            release(column->arrays, COLUMN_FLOATS);
            PyMem_Free(column);
        }
    }
    PyMem_Free(cache->by_oracle);
    cache->by_oracle = NULL;
}

/* 1 if `object` is a float or an int (read as Python's arithmetic would), 0 otherwise. */
static int read_number(PyObject *object, double *out) {
    if (PyFloat_Check(object)) {
        *out = PyFloat_AS_DOUBLE(object);
        return 1;
    }
    if (PyLong_Check(object) && !PyBool_Check(object)) {
        *out = PyLong_AsDouble(object);
        if (*out == -1.0 && PyErr_Occurred()) {
            PyErr_Clear();
            return 0;
        }
        return 1;
    }
    return 0;
}

/* One line's part of a row's sums at `price`, as the Python loops write it: moving += slope x
 * price (each figure), spread += |slope_h| x price + |slope_f| x price. */
static inline void add_line(double slope_h, double slope_f, double price, double *moving_h, double *moving_f,
                            double *spread) {
    double product_h = slope_h * price;
    double product_f = slope_f * price;
    *moving_h = *moving_h + product_h;
    *moving_f = *moving_f + product_f;
    double spread_h = fabs(slope_h) * price;
    double spread_f = fabs(slope_f) * price;
    *spread = *spread + (spread_h + spread_f);
}

/*
 * flush(margins, record, line_count, line_oracle, line_slot, overflow, columns, prices, staged,
 *       width, low_factor, high_factor, relative_band) -> list of rows left to Python
 *
 * HealthScreen.flush's common case, the same operations in the same order: a staged row
 * whose lines are in exactly the oracles it already has lines in (a trade in a market it
 * holds, a re-evaluation at a tick). Each such line is rewritten where it is, then the row's
 * margins and record are written. A row with more lines than the packed index holds (a
 * market maker) keeps them in the `overflow` dict (row -> [[oracle, slot], ...]); it is taken
 * here when its staged lines are in the same oracles in the same order (which the Python
 * loop would leave as they are). Every other entry (a cleared row, a row gaining or losing
 * an oracle, a row with no recorded line, anything not of the expected shape) is left,
 * untouched, for the Python loop, in `staged` order. Rows are independent here: an entry
 * writes only its own row and its own slots.
 *
 * staged: dict row -> None | (health, free, health_negative, free_negative, lines, terms, quantum)
 * line_count: bytes per row; line_oracle, line_slot: int32 [row * width + j]; columns: per
 * oracle, its column's (slope_h, slope_f, low, high, rows, size) arrays (the screen's `_column_arrays`:
 * read from a list, where looking up a column object's attributes cost more than a short
 * row's whole write); prices: list of floats.
 */
static PyObject *flush(PyObject *self, PyObject *args) {
    PyObject *objects[2];
    PyObject *count_object, *oracle_object, *slot_object, *overflow, *columns, *prices, *staged;
    double low_factor, high_factor, relative_band;
    Py_ssize_t width;
    if (!PyArg_ParseTuple(args, "OOOOOO!O!O!O!nddd:flush", &objects[0], &objects[1], &count_object, &oracle_object,
                          &slot_object, &PyDict_Type, &overflow, &PyList_Type, &columns, &PyList_Type, &prices,
                          &PyDict_Type, &staged, &width, &low_factor, &high_factor, &relative_band)) {
        return NULL;
    }
    static const char *const names[2] = {"margins", "record"};
    Buffer buffers[2] = {{{0}}};
    if (acquire_all(objects, buffers, "dd", names, 2, 2) != 0) {
        return NULL;
    }
    Py_buffer counts, oracles, slots;
    if (PyObject_GetBuffer(count_object, &counts, PyBUF_C_CONTIGUOUS) != 0) {
        release(buffers, 2);
        return NULL;
    }
    if (PyObject_GetBuffer(oracle_object, &oracles, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) != 0) {
        PyBuffer_Release(&counts);
        release(buffers, 2);
        return NULL;
    }
    if (PyObject_GetBuffer(slot_object, &slots, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) != 0) {
        PyBuffer_Release(&oracles);
        PyBuffer_Release(&counts);
        release(buffers, 2);
        return NULL;
    }
    Py_ssize_t oracle_count = PyList_GET_SIZE(columns);
    ColumnCache column_buffers = {NULL, 0};
    int got_cache = column_cache_open(&column_buffers, oracle_count) == 0;
    /* per oracle: whether the row being read has a line there (an overflow row's lines must
     * be in distinct oracles, as the Python loop's dict of them assumes) */
    unsigned char *seen = PyMem_Calloc(oracle_count > 0 ? oracle_count : 1, 1);
    Py_ssize_t read_capacity = 64;
    StagedLine *read = PyMem_Malloc(read_capacity * sizeof(StagedLine));
    PyObject *left = PyList_New(0);
    Py_ssize_t capacity = items(&buffers[0]) / 2;
    int failed = !got_cache || seen == NULL || read == NULL || left == NULL;
    if (got_cache && (seen == NULL || read == NULL)) {
        PyErr_NoMemory();
    }
    if (!failed && (oracles.itemsize != 4 || slots.itemsize != 4 || counts.itemsize != 1 ||
                    items(&buffers[1]) < 5 * capacity || width <= 0 || counts.len < capacity ||
                    oracles.len / 4 < capacity * width || slots.len / 4 < capacity * width ||
                    PyList_GET_SIZE(prices) < oracle_count)) {
        PyErr_SetString(PyExc_ValueError, "flush: the screen's arrays do not match");
        failed = 1;
    }
    double *health_margins = (double *)buffers[0].view.buf;
    double *free_margins = health_margins + capacity;
    double *record = (double *)buffers[1].view.buf; /* [row][5] */
    const unsigned char *line_count = (const unsigned char *)counts.buf;
    const int *line_oracle = (const int *)oracles.buf;
    const int *line_slot = (const int *)slots.buf;
    Py_ssize_t position = 0;
    PyObject *key, *value;
    while (!failed && PyDict_Next(staged, &position, &key, &value)) {
        /* -- decide, writing nothing: anything unexpected goes to Python -- */
        long long row = PyLong_Check(key) ? PyLong_AsLongLong(key) : -1;
        if (row == -1 && PyErr_Occurred()) {
            PyErr_Clear();
        }
        int handled = 0;
        double health = 0, free = 0, quantum = 0, terms = 0;
        int health_negative = 0, free_negative = 0;
        Py_ssize_t count = 0;
        if (row >= 0 && row < capacity && value != Py_None && PyTuple_Check(value) && PyTuple_GET_SIZE(value) == 7) {
            PyObject *lines = PyTuple_GET_ITEM(value, 4);
            count = line_count[row];
            PyObject *entries = NULL; /* an overflow row's [[oracle, slot], ...] */
            if (count == 0 && PyList_Check(lines)) {
                entries = PyDict_GetItemWithError(overflow, key);
                if (entries == NULL && PyErr_Occurred()) {
                    PyErr_Clear();
                }
                if (entries != NULL && PyList_Check(entries) && PyList_GET_SIZE(entries) == PyList_GET_SIZE(lines)) {
                    count = PyList_GET_SIZE(entries);
                } else {
                    entries = NULL;
                }
            }
            if (count > read_capacity) {
                StagedLine *grown = PyMem_Realloc(read, count * sizeof(StagedLine));
                if (grown == NULL) {
                    PyErr_NoMemory();
                    failed = 1;
                    break;
                }
                read = grown;
                read_capacity = count;
            }
            health_negative = PyObject_IsTrue(PyTuple_GET_ITEM(value, 2));
            free_negative = PyObject_IsTrue(PyTuple_GET_ITEM(value, 3));
            if (health_negative < 0 || free_negative < 0) {
                PyErr_Clear(); /* (not a truth value: left to Python, which will say so) */
            }
            long long term_count = PyLong_Check(PyTuple_GET_ITEM(value, 5)) ? PyLong_AsLongLong(PyTuple_GET_ITEM(value, 5)) : -1;
            if (PyErr_Occurred()) {
                PyErr_Clear();
                term_count = -1;
            }
            handled = count > 0 && PyList_Check(lines) && PyList_GET_SIZE(lines) == count && health_negative >= 0 &&
                      free_negative >= 0 && term_count >= 0 && term_count < (1LL << 52) &&
                      read_number(PyTuple_GET_ITEM(value, 0), &health) && read_number(PyTuple_GET_ITEM(value, 1), &free) &&
                      PyFloat_Check(PyTuple_GET_ITEM(value, 6));
            if (handled) {
                quantum = PyFloat_AS_DOUBLE(PyTuple_GET_ITEM(value, 6));
                terms = (double)(term_count + 2);
            }
            Py_ssize_t filled = 0; /* the entries of `read` written for this row */
            for (Py_ssize_t j = 0; handled && j < count; j++) {
                PyObject *line = PyList_GET_ITEM(lines, j);
                PyObject *fast = (PyList_Check(line) || PyTuple_Check(line)) ? line : NULL;
                Py_ssize_t fields_given = fast == NULL ? 0 : PySequence_Fast_GET_SIZE(fast);
                if (fields_given != 5 && fields_given != 6) {
                    handled = 0;
                    break;
                }
                PyObject **fields = PySequence_Fast_ITEMS(fast);
                StagedLine *out = &read[j];
                long oracle = PyLong_Check(fields[0]) ? PyLong_AsLong(fields[0]) : -1;
                if (oracle == -1 && PyErr_Occurred()) {
                    PyErr_Clear();
                }
                out->size = NAN;
                handled = oracle >= 0 && oracle < oracle_count && read_number(fields[1], &out->slope_h) &&
                          read_number(fields[2], &out->slope_f) && read_number(fields[3], &out->low) &&
                          read_number(fields[4], &out->high) && (fields_given == 5 || read_number(fields[5], &out->size));
                out->oracle = oracle;
                out->slot = -1;
                filled = j + 1;
                if (entries != NULL) {
                    /* the overflow entry at the same place, in the same oracle, once */
                    PyObject *entry = PyList_GET_ITEM(entries, j);
                    if (handled && PyList_Check(entry) && PyList_GET_SIZE(entry) == 2 && !seen[oracle] &&
                        PyLong_Check(PyList_GET_ITEM(entry, 0)) && PyLong_Check(PyList_GET_ITEM(entry, 1)) &&
                        PyLong_AsLong(PyList_GET_ITEM(entry, 0)) == oracle) {
                        long slot = PyLong_AsLong(PyList_GET_ITEM(entry, 1));
                        out->slot = slot >= 0 ? slot : -1;
                        seen[oracle] = 1;
                    }
                    if (PyErr_Occurred()) {
                        PyErr_Clear();
                        out->slot = -1;
                    }
                } else {
                    /* the row's slot in that oracle (the last one recorded, as dict(zip(...)) keeps) */
                    for (Py_ssize_t k = 0; handled && k < count; k++) {
                        if (line_oracle[row * width + k] == oracle) {
                            out->slot = line_slot[row * width + k];
                        }
                    }
                }
                handled = handled && out->slot >= 0;
            }
            if (entries != NULL) {
                for (Py_ssize_t j = 0; j < filled; j++) { /* (every oracle marked above is < oracle_count) */
                    if (read[j].oracle >= 0 && read[j].oracle < oracle_count) {
                        seen[read[j].oracle] = 0;
                    }
                }
            }
            if (handled) {
                for (Py_ssize_t j = 0; j < count; j++) {
                    ColumnBuffers *column = NULL;
                    if (!PyFloat_Check(PyList_GET_ITEM(prices, read[j].oracle)) ||
                        (column = column_cache_get(&column_buffers, columns, read[j].oracle)) == NULL) {
                        if (PyErr_Occurred()) {
                            failed = 1;
                        }
                        handled = 0;
                        break;
                    }
                    int outside = 0;
                    for (int f = 0; f < COLUMN_FLOATS; f++) {
                        outside = outside || read[j].slot >= items(&column->arrays[f]);
                    }
                    if (outside) {
                        handled = 0;
                        break;
                    }
                }
            }
        }
        if (failed) {
            break;
        }
        if (!handled) {
            if (PyList_Append(left, key) != 0) {
                failed = 1;
            }
            continue;
        }
        /* -- write: HealthScreen.flush's loop, operation by operation -- */
        double sign_h = health_negative ? -1.0 : 1.0;
        double sign_f = free_negative ? -1.0 : 1.0;
        double moving_h = 0.0, moving_f = 0.0, spread = 0.0;
        for (Py_ssize_t j = 0; j < count; j++) {
            StagedLine *line = &read[j];
            ColumnBuffers *column = column_buffers.by_oracle[line->oracle];
            Py_ssize_t slot = line->slot;
            ((double *)column->arrays[0].view.buf)[slot] = sign_h * line->slope_h;
            ((double *)column->arrays[1].view.buf)[slot] = sign_f * line->slope_f;
            ((double *)column->arrays[2].view.buf)[slot] = line->low > 0 ? line->low * low_factor : line->low;
            ((double *)column->arrays[3].view.buf)[slot] = line->high * high_factor;
            ((double *)column->arrays[4].view.buf)[slot] = line->size;
            double price = PyFloat_AS_DOUBLE(PyList_GET_ITEM(prices, line->oracle));
            add_line(line->slope_h, line->slope_f, price, &moving_h, &moving_f, &spread);
        }
        double magnitudes = (spread + fabs(health)) + fabs(free);
        double relative = relative_band * magnitudes;
        double rounding = terms * quantum;
        double band = relative + rounding;
        double signed_h = sign_h * health;
        double signed_f = sign_f * free;
        health_margins[row] = signed_h - band;
        free_margins[row] = signed_f - band;
        double *r = record + 5 * row;
        r[0] = health - moving_h;
        r[1] = free - moving_f;
        r[2] = sign_h;
        r[3] = sign_f;
        r[4] = band;
    }
    column_cache_close(&column_buffers);
    PyMem_Free(seen);
    PyMem_Free(read);
    PyBuffer_Release(&slots);
    PyBuffer_Release(&oracles);
    PyBuffer_Release(&counts);
    release(buffers, 2);
    if (failed) {
        Py_XDECREF(left);
        return NULL;
    }
    return left;
}

/* A written row of the screen, for retier and restate: the arrays both read and write, the
 * row's lines in the packed index. Arguments 0-6 of both: margins, record, line_count,
 * line_oracle, line_slot, columns (the screen's `_column_arrays`), prices. */
typedef struct {
    Buffer arrays[2]; /* margins, record */
    Py_buffer counts, oracles, slots;
    int got_counts, got_oracles, got_slots;
    PyObject *columns, *prices;
    Py_ssize_t capacity, oracle_count, count;
    double *health_margins, *free_margins, *record; /* record: the row's five */
    int *line_oracle, *line_slot;                  /* the row's lines */
    unsigned char *line_count;                     /* the row's count */
    Py_ssize_t slot;                               /* its line's slot in the oracle asked for, or -1 */
} WrittenRow;

static void close_row(WrittenRow *written) {
    if (written->got_slots) {
        PyBuffer_Release(&written->slots);
    }
    if (written->got_oracles) {
        PyBuffer_Release(&written->oracles);
    }
    if (written->got_counts) {
        PyBuffer_Release(&written->counts);
    }
    release(written->arrays, 2);
}

/* 0 with `written` open; -1 with an exception set (everything released). Reads the row's
 * line count; its lines' oracles are checked to be columns with a float price. */
static int open_row(WrittenRow *written, PyObject *const *args, Py_ssize_t row, Py_ssize_t oracle,
                    Py_ssize_t width, const char *name) {
    memset(written, 0, sizeof(*written));
    written->columns = args[5];
    written->prices = args[6];
    if (!PyList_Check(written->columns) || !PyList_Check(written->prices)) {
        PyErr_Format(PyExc_TypeError, "%s: columns and prices must be lists", name);
        return -1;
    }
    static const char *const names[2] = {"margins", "record"};
    PyObject *objects[2] = {args[0], args[1]};
    if (acquire_all(objects, written->arrays, "dd", names, 2, 2) != 0) {
        return -1;
    }
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE;
    written->got_counts = PyObject_GetBuffer(args[2], &written->counts, flags) == 0;
    written->got_oracles = written->got_counts &&
                           PyObject_GetBuffer(args[3], &written->oracles, flags | PyBUF_FORMAT) == 0;
    written->got_slots = written->got_oracles &&
                         PyObject_GetBuffer(args[4], &written->slots, flags | PyBUF_FORMAT) == 0;
    if (!written->got_slots) {
        close_row(written);
        return -1;
    }
    Py_ssize_t capacity = items(&written->arrays[0]) / 2;
    Py_ssize_t oracle_count = PyList_GET_SIZE(written->columns);
    if (written->oracles.itemsize != 4 || written->slots.itemsize != 4 || written->counts.itemsize != 1 ||
        items(&written->arrays[1]) < 5 * capacity || width <= 0 || written->counts.len < capacity ||
        written->oracles.len / 4 < capacity * width || written->slots.len / 4 < capacity * width ||
        PyList_GET_SIZE(written->prices) < oracle_count || row < 0 || row >= capacity || oracle < 0 ||
        oracle >= oracle_count) {
        close_row(written);
        PyErr_Format(PyExc_ValueError, "%s: the screen's arrays or the row do not match", name);
        return -1;
    }
    written->capacity = capacity;
    written->oracle_count = oracle_count;
    written->line_count = (unsigned char *)written->counts.buf + row;
    written->count = *written->line_count;
    if (written->count > width) {
        written->count = 0; /* (not of the expected shape: left to Python) */
    }
    written->health_margins = (double *)written->arrays[0].view.buf;
    written->free_margins = written->health_margins + capacity;
    written->record = (double *)written->arrays[1].view.buf + 5 * row;
    written->line_oracle = (int *)written->oracles.buf + row * width;
    written->line_slot = (int *)written->slots.buf + row * width;
    if (!PyFloat_Check(PyList_GET_ITEM(written->prices, oracle))) {
        written->count = 0; /* (not of the expected shape: left to Python) */
    }
    written->slot = -1;
    for (Py_ssize_t j = 0; j < written->count; j++) {
        int index = written->line_oracle[j];
        if (index < 0 || index >= oracle_count || !PyFloat_Check(PyList_GET_ITEM(written->prices, index))) {
            written->count = 0;
            written->slot = -1;
            break;
        }
        if (index == oracle) {
            written->slot = written->line_slot[j]; /* (the last one, as the Python loops take it) */
        }
    }
    return 0;
}

/* The stored slopes of the row's line j (its column's slot), or -1 with an exception set. */
static int stored_slopes(WrittenRow *written, Py_ssize_t j, double *slope_h, double *slope_f, const char *name) {
    Buffer slopes[2] = {{{0}}}; /* (only the slopes are read) */
    if (acquire_fields(written->columns, written->line_oracle[j], slopes, 2) != 0) {
        return -1;
    }
    Py_ssize_t at = written->line_slot[j];
    if (at < 0 || at >= items(&slopes[0]) || at >= items(&slopes[1])) {
        release(slopes, 2);
        PyErr_Format(PyExc_ValueError, "%s: a line's slot is outside its column", name);
        return -1;
    }
    *slope_h = ((double *)slopes[0].view.buf)[at];
    *slope_f = ((double *)slopes[1].view.buf)[at];
    release(slopes, 2);
    return 0;
}

/* Rewrite the line at `slot` of the column of `oracle` (its size too, unless `size` is NULL:
 * the same position), or -1 with an exception set. */
static int write_line(WrittenRow *written, Py_ssize_t oracle, Py_ssize_t slot, double slope_h, double slope_f,
                      double low, double high, const double *size, const char *name) {
    ColumnBuffers target = {{{{0}}}};
    int fields = size != NULL ? COLUMN_FLOATS : 4;
    if (acquire_column(written->columns, oracle, &target, fields) != 0) {
        return -1;
    }
    for (int i = 0; i < fields; i++) {
        if (slot < 0 || slot >= items(&target.arrays[i])) {
            release(target.arrays, COLUMN_FLOATS);
            PyErr_Format(PyExc_ValueError, "%s: a line's slot is outside its column", name);
            return -1;
        }
    }
    ((double *)target.arrays[0].view.buf)[slot] = slope_h;
    ((double *)target.arrays[1].view.buf)[slot] = slope_f;
    ((double *)target.arrays[2].view.buf)[slot] = low;
    ((double *)target.arrays[3].view.buf)[slot] = high;
    if (size != NULL) {
        ((double *)target.arrays[4].view.buf)[slot] = *size;
    }
    release(target.arrays, COLUMN_FLOATS);
    return 0;
}

static PyObject *append_name; /* "append", interned at import */

/* Append a line to the column of `oracle` as OracleColumn.append does (rows, slope_h, slope_f,
 * low, high, size, in that order); its slot, or -1 with an exception set. */
static Py_ssize_t append_line(WrittenRow *written, Py_ssize_t oracle, Py_ssize_t row, double slope_h,
                              double slope_f, double low, double high, double size) {
    PyObject *owner = PyList_GET_ITEM(written->columns, oracle);
    if (!PyTuple_Check(owner) || PyTuple_GET_SIZE(owner) != 6) {
        PyErr_SetString(PyExc_TypeError, "a column must be the tuple of its float arrays and its rows");
        return -1;
    }
    PyObject *values[6] = {PyLong_FromSsize_t(row), PyFloat_FromDouble(slope_h), PyFloat_FromDouble(slope_f),
                           PyFloat_FromDouble(low), PyFloat_FromDouble(high), PyFloat_FromDouble(size)};
    static const int order[6] = {4, 0, 1, 2, 3, 5}; /* the tuple's index of rows, slope_h, ... */
    int failed = 0;
    for (int i = 0; i < 6; i++) {
        failed = failed || values[i] == NULL;
    }
    for (int i = 0; i < 6 && !failed; i++) {
        PyObject *done = PyObject_CallMethodObjArgs(PyTuple_GET_ITEM(owner, order[i]), append_name, values[i], NULL);
        failed = done == NULL;
        Py_XDECREF(done);
    }
    for (int i = 0; i < 6; i++) {
        Py_XDECREF(values[i]);
    }
    if (failed) {
        return -1;
    }
    Py_ssize_t length = PyObject_Length(PyTuple_GET_ITEM(owner, 4));
    return length < 0 ? -1 : length - 1;
}

static int read_doubles(PyObject *const *args, Py_ssize_t count, double *out) {
    for (Py_ssize_t i = 0; i < count; i++) {
        out[i] = PyFloat_AsDouble(args[i]);
        if (out[i] == -1.0 && PyErr_Occurred()) {
            return -1;
        }
    }
    return 0;
}

/* the most lines a row in the packed index can have, for the per-row buffers (WIDTH is 8) */
#define HELD_MAX_LINES 16

/* What carrying a row across a tier boundary writes (HealthScreen.retier). */
typedef struct {
    double margin_h, margin_f, const_h, band;
} Retiered;

/* HealthScreen.retier's arithmetic, operation by operation, for a written row (`record`: its
 * const_h, const_f, sign_h, sign_f, band) whose line in `oracle` becomes the unsigned
 * (line_h, line_f) and whose health constant moves by `shift_health`; its other lines'
 * stored (signed) slopes are stored_h[j], stored_f[j] (line j in line_oracle[j]). The row's
 * sums at the current prices give its new band and margins: 1 if both margins are > 0 (the
 * row is carried: the caller writes `out`), 0 if not. */
static int retier_row(const double *record, Py_ssize_t count, const int *line_oracle, const double *stored_h,
                      const double *stored_f, PyObject *prices, Py_ssize_t oracle, double line_h, double line_f,
                      double shift_health, double relative_band, Retiered *out) {
    double sign_h = record[2];
    double sign_f = record[3];
    double moving_h = 0.0, moving_f = 0.0, spread = 0.0;
    for (Py_ssize_t j = 0; j < count; j++) {
        int index = line_oracle[j];
        double s_h, s_f;
        if (index == oracle) {
            s_h = line_h;
            s_f = line_f;
        } else {
            s_h = sign_h * stored_h[j];
            s_f = sign_f * stored_f[j];
        }
        add_line(s_h, s_f, PyFloat_AS_DOUBLE(PyList_GET_ITEM(prices, index)), &moving_h, &moving_f, &spread);
    }
    double const_h = record[0] + shift_health;
    double const_f = record[1];
    double health = const_h + moving_h;
    double free = const_f + moving_f;
    double magnitudes = (spread + fabs(health)) + fabs(free);
    double band = record[4] + relative_band * magnitudes;
    out->margin_h = sign_h * health - band;
    out->margin_f = sign_f * free - band;
    out->const_h = const_h;
    out->band = band;
    return out->margin_h > 0.0 && out->margin_f > 0.0;
}

/*
 * retier(margins, record, line_count, line_oracle, line_slot, columns, prices, row, oracle,
 *        slope_h, slope_f, low, high, shift_health, low_factor, high_factor, relative_band,
 *        width) -> 1 (carried), 0 (refused: evaluate exactly) or -1 (left to Python)
 *
 * HealthScreen.retier for a written row whose lines are in the packed index (not an
 * overflow row, which gives -1, as does anything not of the expected shape), the same
 * operations in the same order. The caller has checked that the row is not staged. Nothing
 * is written unless the row is carried.
 */
static PyObject *retier(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 18) {
        PyErr_SetString(PyExc_TypeError, "retier takes 18 arguments");
        return NULL;
    }
    Py_ssize_t row = PyNumber_AsSsize_t(args[7], PyExc_OverflowError);
    Py_ssize_t oracle = PyNumber_AsSsize_t(args[8], PyExc_OverflowError);
    Py_ssize_t width = PyNumber_AsSsize_t(args[17], PyExc_OverflowError);
    double floats[8]; /* line_h, line_f, low, high, shift_health, low_factor, high_factor, relative_band */
    if (PyErr_Occurred() || read_doubles(args + 9, 8, floats) != 0) {
        return NULL;
    }
    double line_h = floats[0], line_f = floats[1], line_low = floats[2], line_high = floats[3];
    double shift_health = floats[4], low_factor = floats[5], high_factor = floats[6], relative_band = floats[7];
    WrittenRow written;
    if (open_row(&written, args, row, oracle, width, "retier") != 0) {
        return NULL;
    }
    long result = -1;
    Py_ssize_t slot = written.slot;
    if (written.count == 0) {
        goto done; /* an overflow row, or none: Python's */
    }
    result = 0;
    if (slot < 0) {
        goto done;
    }
    double *record = written.record;
    double sign_h = record[2];
    double sign_f = record[3];
    double price = PyFloat_AS_DOUBLE(PyList_GET_ITEM(written.prices, oracle));
    double low = line_low > 0 ? line_low * low_factor : line_low;
    double high = line_high * high_factor;
    if (!(low < price && price <= high)) {
        goto done;
    }
    double stored_h[HELD_MAX_LINES], stored_f[HELD_MAX_LINES];
    if (written.count > HELD_MAX_LINES) {
        result = -1; /* (not of the expected shape: Python's) */
        goto done;
    }
    for (Py_ssize_t j = 0; j < written.count; j++) {
        stored_h[j] = stored_f[j] = 0.0;
        if (written.line_oracle[j] != oracle &&
            stored_slopes(&written, j, &stored_h[j], &stored_f[j], "retier") != 0) {
            goto done;
        }
    }
    Retiered carried;
    if (!retier_row(record, written.count, written.line_oracle, stored_h, stored_f, written.prices, oracle, line_h,
                    line_f, shift_health, relative_band, &carried)) {
        goto done;
    }
    if (write_line(&written, oracle, slot, sign_h * line_h, sign_f * line_f, low, high, NULL, "retier") != 0) {
        goto done;
    }
    written.health_margins[row] = carried.margin_h;
    written.free_margins[row] = carried.margin_f;
    record[0] = carried.const_h;
    record[4] = carried.band;
    result = 1;
done:
    close_row(&written);
    if (PyErr_Occurred()) {
        return NULL;
    }
    return PyLong_FromLong(result);
}

/*
 * restate(margins, record, line_count, line_oracle, line_slot, columns, prices, row, oracle,
 *         slope_h, slope_f, low, high, size, health, free, carried, terms, quantum, low_factor,
 *         high_factor, relative_band, width) -> 1 (written), 0 (refused: evaluate exactly)
 *         or -1 (left to Python)
 *
 * HealthScreen.restate's common cases, the same operations in the same order: a written row
 * in the packed index keeping its line in `oracle` (a trade in a market the account holds),
 * rewritten in place, or gaining one (a market it did not hold), appended to the column and
 * recorded after the row's lines. A row losing its line in `oracle`, an overflow row, one
 * that the new line would make one, and anything not of the expected shape give -1. The
 * caller has checked that the row is not staged. Nothing is written unless the row is.
 */
static PyObject *restate(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 23) {
        PyErr_SetString(PyExc_TypeError, "restate takes 23 arguments");
        return NULL;
    }
    Py_ssize_t row = PyNumber_AsSsize_t(args[7], PyExc_OverflowError);
    Py_ssize_t oracle = PyNumber_AsSsize_t(args[8], PyExc_OverflowError);
    Py_ssize_t terms = PyNumber_AsSsize_t(args[17], PyExc_OverflowError);
    Py_ssize_t width = PyNumber_AsSsize_t(args[22], PyExc_OverflowError);
    double line[5];  /* line_h, line_f, low, high, size */
    double first[3]; /* health, free, carried */
    double last[4];  /* quantum, low_factor, high_factor, relative_band */
    if (PyErr_Occurred() || read_doubles(args + 9, 5, line) != 0 || read_doubles(args + 14, 3, first) != 0 ||
        read_doubles(args + 18, 4, last) != 0) {
        return NULL;
    }
    if (terms < 0 || terms >= (1LL << 52)) {
        PyErr_SetString(PyExc_ValueError, "restate: terms out of range");
        return NULL;
    }
    double line_h = line[0], line_f = line[1], line_low = line[2], line_high = line[3], size = line[4];
    double health = first[0], free = first[1], carried = first[2];
    double quantum = last[0], low_factor = last[1], high_factor = last[2], relative_band = last[3];
    WrittenRow written;
    if (open_row(&written, args, row, oracle, width, "restate") != 0) {
        return NULL;
    }
    long result = -1;
    Py_ssize_t slot = written.slot;
    if (written.count == 0 || (slot < 0 && written.count + 1 > width)) {
        goto done; /* an overflow row, none, or one that a new line would make one: Python's */
    }
    double moving_h = 0.0, moving_f = 0.0, spread = 0.0;
    for (Py_ssize_t j = 0; j < written.count; j++) {
        int index = written.line_oracle[j];
        if (index == oracle) {
            continue;
        }
        double s_h, s_f;
        if (stored_slopes(&written, j, &s_h, &s_f, "restate") != 0) {
            goto done;
        }
        add_line(s_h, s_f, PyFloat_AS_DOUBLE(PyList_GET_ITEM(written.prices, index)), &moving_h, &moving_f, &spread);
    }
    add_line(line_h, line_f, PyFloat_AS_DOUBLE(PyList_GET_ITEM(written.prices, oracle)), &moving_h, &moving_f,
             &spread);
    double magnitudes = (spread + fabs(health)) + fabs(free);
    double relative = relative_band * magnitudes;
    double rounding = (double)(terms + 2) * quantum;
    double band = (relative + rounding) + carried;
    result = 0;
    if (!(health - band > 0.0 && free - band > 0.0)) {
        goto done;
    }
    double low = line_low > 0 ? line_low * low_factor : line_low;
    double high = line_high * high_factor;
    if (slot >= 0) {
        if (write_line(&written, oracle, slot, line_h, line_f, low, high, &size, "restate") != 0) {
            goto done;
        }
    } else { /* a market the row had no line in: appended, and recorded after its lines */
        Py_ssize_t appended = append_line(&written, oracle, row, line_h, line_f, low, high, size);
        if (appended < 0) {
            goto done;
        }
        written.line_oracle[written.count] = (int)oracle;
        written.line_slot[written.count] = (int)appended;
        *written.line_count = (unsigned char)(written.count + 1);
    }
    written.health_margins[row] = health - band;
    written.free_margins[row] = free - band;
    double *record = written.record;
    record[0] = health - moving_h;
    record[1] = free - moving_f;
    record[2] = 1.0;
    record[3] = 1.0;
    record[4] = band;
    result = 1;
done:
    close_row(&written);
    if (PyErr_Occurred()) {
        return NULL;
    }
    return PyLong_FromLong(result);
}

/* For reset (flip_rows keeps its columns for the whole batch): acquire the columns of the row's `count` lines into `lines` and check
 * each line's price is inside its interval (low < price <= high, as the tick tests it).
 * 1 if every line is, 0 if one is not, -1 with an exception set. What was acquired is
 * released by release_lines, in every case. */
static int lines_inside(WrittenRow *written, ColumnBuffers *lines, const char *name) {
    if (written->count > HELD_MAX_LINES) {
        PyErr_Format(PyExc_ValueError, "%s: a row holds more lines than the packed index", name);
        return -1;
    }
    for (Py_ssize_t j = 0; j < written->count; j++) {
        if (acquire_column(written->columns, written->line_oracle[j], &lines[j], 4) != 0) {
            return -1;
        }
        Py_ssize_t at = written->line_slot[j];
        for (int i = 0; i < 4; i++) {
            if (at < 0 || at >= items(&lines[j].arrays[i])) {
                PyErr_Format(PyExc_ValueError, "%s: a line's slot is outside its column", name);
                return -1;
            }
        }
        double price = PyFloat_AS_DOUBLE(PyList_GET_ITEM(written->prices, written->line_oracle[j]));
        double low = ((double *)lines[j].arrays[2].view.buf)[at];
        double high = ((double *)lines[j].arrays[3].view.buf)[at];
        if (!(low < price && price <= high)) {
            return 0;
        }
    }
    return 1;
}

static void release_lines(ColumnBuffers *lines, Py_ssize_t count) {
    for (Py_ssize_t j = 0; j < count && j < HELD_MAX_LINES; j++) {
        release(lines[j].arrays, COLUMN_FLOATS);
    }
}

/* The tiers of the one market on a tick's oracle, as floats (HealthScreen.carry's `tiers`). */
typedef struct {
    Py_ssize_t count;
    double *values; /* per tier: mmr, notional low, notional high, max leverage, cum */
} TierTable;

/* 0 with `table` filled from a list of (mmr, low, high, max leverage, its float, cum) tuples;
 * -1 with an exception set. */
static int tier_table_open(TierTable *table, PyObject *tiers) {
    table->count = 0;
    table->values = NULL;
    if (!PyList_Check(tiers) || PyList_GET_SIZE(tiers) == 0) {
        PyErr_SetString(PyExc_TypeError, "flip_rows: tiers must be a non-empty list");
        return -1;
    }
    Py_ssize_t count = PyList_GET_SIZE(tiers);
    table->values = PyMem_Malloc(5 * count * sizeof(double));
    if (table->values == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    static const int places[5] = {0, 1, 2, 4, 5};
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *tier = PyList_GET_ITEM(tiers, i);
        int read = PyTuple_Check(tier) && PyTuple_GET_SIZE(tier) == 6;
        for (int f = 0; f < 5 && read; f++) {
            read = read_number(PyTuple_GET_ITEM(tier, places[f]), &table->values[5 * i + f]);
        }
        if (!read) {
            PyMem_Free(table->values);
            table->values = NULL;
            PyErr_SetString(PyExc_TypeError, "flip_rows: a tier must be (mmr, low, high, max leverage, its float, cum)");
            return -1;
        }
    }
    table->count = count;
    return 0;
}

/* The index of the tier a float `notional` is in, or -1 within 1e-9 of a boundary
 * (solvent.risk.screen.tier_at, the same operations). */
static Py_ssize_t tier_at(const TierTable *table, double notional) {
    for (Py_ssize_t i = 0; i < table->count; i++) {
        double low = table->values[5 * i + 1];
        double high = table->values[5 * i + 2];
        if (notional <= high) {
            if (fabs(notional - high) <= 1e-9 * notional || fabs(notional - low) <= 1e-9 * notional) {
                return -1;
            }
            return i;
        }
    }
    return -1;
}

/* The columns of a row's `count` lines acquired into `cache`: 1 if every line's oracle is a
 * column with a float price and every slot is inside its column, 0 if an oracle is not (the
 * row is left to Python), -1 with an exception set. */
static int row_columns(ColumnCache *cache, PyObject *columns, PyObject *prices, Py_ssize_t oracle_count,
                       const int *row_oracles, const int *row_slots, Py_ssize_t count) {
    for (Py_ssize_t j = 0; j < count; j++) {
        int index = row_oracles[j];
        if (index < 0 || index >= oracle_count || !PyFloat_Check(PyList_GET_ITEM(prices, index))) {
            return 0;
        }
        ColumnBuffers *column = column_cache_get(cache, columns, index);
        if (column == NULL) {
            return -1;
        }
        Py_ssize_t at = row_slots[j];
        for (int f = 0; f < COLUMN_FLOATS; f++) {
            if (at < 0 || at >= items(&column->arrays[f])) {
                PyErr_SetString(PyExc_ValueError, "flip_rows: a line's slot is outside its column");
                return -1;
            }
        }
    }
    return 1;
}

/* What carrying a row across its tiers needs besides the row (HealthScreen.carry). */
typedef struct {
    Py_ssize_t oracle;
    double previous, low_factor, high_factor, relative_band;
    TierTable tiers;
} Carry;

/* HealthScreen.carry for a written row not at zero whose `count` lines are acquired in
 * `cache`, the same operations: -3 (carried: written), 0 (refused) or -2 (the line's
 * position has a leverage that binds: the monitor's). */
static long carry_row(const Carry *carry, ColumnCache *cache, PyObject *prices, double *record, double *health_margin,
                      double *free_margin, const int *row_oracles, const int *row_slots, Py_ssize_t count) {
    Py_ssize_t oracle = carry->oracle;
    Py_ssize_t slot = -1;
    for (Py_ssize_t j = 0; j < count; j++) {
        if (row_oracles[j] == oracle) {
            slot = row_slots[j]; /* (the last one, as the Python loops take it) */
        }
    }
    if (slot < 0) {
        return 0;
    }
    ColumnBuffers *column = cache->by_oracle[oracle];
    double size = ((double *)column->arrays[4].view.buf)[slot];
    if (size != size || size == 0.0) { /* NO_SIZE (a position is never of size 0) */
        return 0;
    }
    if (size == INFINITY) { /* LEVERAGE_BINDS */
        return -2;
    }
    double price = PyFloat_AS_DOUBLE(PyList_GET_ITEM(prices, oracle));
    double magnitude = size > 0 ? size : -size;
    Py_ssize_t old = tier_at(&carry->tiers, magnitude * carry->previous);
    Py_ssize_t new = tier_at(&carry->tiers, magnitude * price);
    if (old < 0 || new < 0 || old == new) {
        return 0;
    }
    const double *tier = carry->tiers.values + 5 * new; /* mmr, low, high, max leverage, cum */
    double line_h = size - magnitude * tier[0];
    double line_f = size - magnitude / tier[3];
    double line_low = tier[1] / magnitude;
    double line_high = tier[2] / magnitude;
    double shift_health = tier[4] - carry->tiers.values[5 * old + 4];
    /* HealthScreen.retier */
    double low = line_low > 0 ? line_low * carry->low_factor : line_low;
    double high = line_high * carry->high_factor;
    if (!(low < price && price <= high)) {
        return 0;
    }
    double stored_h[HELD_MAX_LINES], stored_f[HELD_MAX_LINES];
    for (Py_ssize_t j = 0; j < count; j++) {
        ColumnBuffers *line = cache->by_oracle[row_oracles[j]];
        stored_h[j] = ((double *)line->arrays[0].view.buf)[row_slots[j]];
        stored_f[j] = ((double *)line->arrays[1].view.buf)[row_slots[j]];
    }
    Retiered carried;
    if (!retier_row(record, count, row_oracles, stored_h, stored_f, prices, oracle, line_h, line_f,
                    shift_health, carry->relative_band, &carried)) {
        return 0;
    }
    ((double *)column->arrays[0].view.buf)[slot] = record[2] * line_h;
    ((double *)column->arrays[1].view.buf)[slot] = record[3] * line_f;
    ((double *)column->arrays[2].view.buf)[slot] = low;
    ((double *)column->arrays[3].view.buf)[slot] = high;
    *health_margin = carried.margin_h;
    *free_margin = carried.margin_f;
    record[0] = carried.const_h;
    record[4] = carried.band;
    return -3;
}

/*
 * flip_rows(margins, record, line_count, line_oracle, line_slot, columns, prices, rows,
 *           free_may_fall, width[, oracle, previous, tiers, low_factor, high_factor,
 *           relative_band]) -> list, one answer per row, in order:
 *     -2 (not at zero: both margins > 0), 0 (refused: evaluate exactly),
 *     1 + 2 x health negative + 4 x free negative (flipped), -3 (carried across its tiers)
 *     or -1 (left to Python)
 *
 * With the six last arguments, a row not at zero is carried across its tiers as
 * HealthScreen.carry does it (-3, or 0 refused, or -2 where its line says the position's
 * leverage binds); an overflow row not at zero is then left to Python (-1) too.
 *
 * HealthScreen.flip for each of `rows` (a list of row numbers; `free_may_fall` a bytes of
 * the same length, non-zero where a fall of free collateral may be flipped), the same
 * operations in the same order, for rows whose lines are in the packed index (an overflow
 * row, or one with no line, gives -1, as does a row whose lines are not of the expected
 * shape). The screen's arrays are acquired once for the batch and each column once, the
 * first time a row touches it: a tick hands its candidates over at once. The caller has
 * checked that no row is staged. Rows are independent: a row's answer writes only its own
 * margins, record and slots.
 */
static PyObject *flip_rows(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 10 && nargs != 16) {
        PyErr_SetString(PyExc_TypeError, "flip_rows takes 10 or 16 arguments");
        return NULL;
    }
    PyObject *columns = args[5], *prices = args[6], *rows = args[7], *may_fall = args[8];
    Py_ssize_t width = PyNumber_AsSsize_t(args[9], PyExc_OverflowError);
    if (PyErr_Occurred()) {
        return NULL;
    }
    int carrying = nargs == 16;
    Carry carry = {-1, 0.0, 0.0, 0.0, 0.0, {0, NULL}};
    if (carrying) {
        double floats[4]; /* low_factor, high_factor, relative_band; previous */
        carry.oracle = PyNumber_AsSsize_t(args[10], PyExc_OverflowError);
        if (PyErr_Occurred() || read_doubles(args + 13, 3, floats) != 0 || read_doubles(args + 11, 1, floats + 3) != 0) {
            return NULL;
        }
        carry.low_factor = floats[0];
        carry.high_factor = floats[1];
        carry.relative_band = floats[2];
        carry.previous = floats[3];
        if (carry.oracle < 0 || !PyList_Check(columns) || carry.oracle >= PyList_GET_SIZE(columns)) {
            PyErr_SetString(PyExc_ValueError, "flip_rows: the oracle to carry rows in is not a column");
            return NULL;
        }
        if (tier_table_open(&carry.tiers, args[12]) != 0) {
            return NULL;
        }
    }
    if (!PyList_Check(columns) || !PyList_Check(prices) || !PyList_Check(rows) || !PyBytes_Check(may_fall) ||
        PyBytes_GET_SIZE(may_fall) != PyList_GET_SIZE(rows)) {
        PyErr_SetString(PyExc_TypeError, "flip_rows: columns, prices and rows must be lists, free_may_fall bytes of "
                                         "the rows' length");
        PyMem_Free(carry.tiers.values);
        return NULL;
    }
    Buffer arrays[2] = {{{0}}};
    static const char *const names[2] = {"margins", "record"};
    PyObject *objects[2] = {args[0], args[1]};
    if (acquire_all(objects, arrays, "dd", names, 2, 2) != 0) {
        PyMem_Free(carry.tiers.values);
        return NULL;
    }
    Py_buffer counts, oracles, slots;
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE;
    int got_counts = PyObject_GetBuffer(args[2], &counts, flags) == 0;
    int got_oracles = got_counts && PyObject_GetBuffer(args[3], &oracles, flags | PyBUF_FORMAT) == 0;
    int got_slots = got_oracles && PyObject_GetBuffer(args[4], &slots, flags | PyBUF_FORMAT) == 0;
    Py_ssize_t oracle_count = PyList_GET_SIZE(columns);
    Py_ssize_t n = PyList_GET_SIZE(rows);
    ColumnCache cache = {NULL, 0};
    int got_cache = got_slots && column_cache_open(&cache, oracle_count) == 0;
    PyObject *answers = got_cache ? PyList_New(n) : NULL;
    int failed = answers == NULL;
    Py_ssize_t capacity = items(&arrays[0]) / 2;
    if (!failed && (oracles.itemsize != 4 || slots.itemsize != 4 || counts.itemsize != 1 ||
                    items(&arrays[1]) < 5 * capacity || width <= 0 || width > HELD_MAX_LINES ||
                    counts.len < capacity || oracles.len / 4 < capacity * width ||
                    slots.len / 4 < capacity * width || PyList_GET_SIZE(prices) < oracle_count)) {
        PyErr_SetString(PyExc_ValueError, "flip_rows: the screen's arrays do not match");
        failed = 1;
    }
    double *health_margins = (double *)arrays[0].view.buf;
    double *free_margins = health_margins + capacity;
    const unsigned char *line_count = failed ? NULL : (const unsigned char *)counts.buf;
    const int *line_oracle = failed ? NULL : (const int *)oracles.buf;
    const int *line_slot = failed ? NULL : (const int *)slots.buf;
    const char *falls = PyBytes_AS_STRING(may_fall);
    for (Py_ssize_t i = 0; i < n && !failed; i++) {
        Py_ssize_t row = PyLong_AsSsize_t(PyList_GET_ITEM(rows, i));
        if (row == -1 && PyErr_Occurred()) {
            failed = 1;
            break;
        }
        if (row < 0 || row >= capacity) {
            PyErr_SetString(PyExc_ValueError, "flip_rows: a row is outside the screen");
            failed = 1;
            break;
        }
        long code = -1;
        double margin_h = health_margins[row];
        double margin_f = free_margins[row];
        Py_ssize_t count = line_count[row];
        const int *row_oracles = line_oracle + row * width;
        const int *row_slots = line_slot + row * width;
        double *record = (double *)arrays[1].view.buf + 5 * row;
        if (margin_h > 0.0 && margin_f > 0.0) {
            code = -2;
            if (carrying) { /* only a tier interval left: carried here, or an overflow row left to Python */
                int shaped = count > 0 && count <= width;
                if (shaped) {
                    shaped = row_columns(&cache, columns, prices, oracle_count, row_oracles, row_slots, count);
                    failed = shaped < 0;
                }
                if (failed) {
                    break;
                }
                code = shaped ? carry_row(&carry, &cache, prices, record, &health_margins[row], &free_margins[row],
                                          row_oracles, row_slots, count)
                              : -1;
            }
        } else if (count > 0 && count <= width) {
            int shaped = row_columns(&cache, columns, prices, oracle_count, row_oracles, row_slots, count);
            if (shaped < 0) {
                failed = 1;
                break;
            }
            if (!shaped) {
                count = 0;
            }
            if (count > 0) {
                code = 0;
                int inside = margin_h < INFINITY && margin_f < INFINITY;
                for (Py_ssize_t j = 0; j < count && inside; j++) {
                    ColumnBuffers *column = cache.by_oracle[row_oracles[j]];
                    Py_ssize_t at = row_slots[j];
                    double price = PyFloat_AS_DOUBLE(PyList_GET_ITEM(prices, row_oracles[j]));
                    double low = ((double *)column->arrays[2].view.buf)[at];
                    double high = ((double *)column->arrays[3].view.buf)[at];
                    inside = low < price && price <= high;
                }
                double band = record[4];
                double sign_h = record[2];
                double sign_f = record[3];
                int flip_h = 0, flip_f = 0, refused = !inside;
                if (!refused && !(margin_h > 0.0)) {
                    margin_h = -(margin_h + band) - band;
                    refused = !(margin_h > 0.0);
                    flip_h = 1;
                }
                if (!refused && !(margin_f > 0.0)) {
                    margin_f = -(margin_f + band) - band;
                    refused = !(margin_f > 0.0) || (sign_f > 0.0 && !falls[i]);
                    flip_f = 1;
                }
                if (!refused && (flip_h || flip_f)) {
                    for (Py_ssize_t j = 0; j < count; j++) {
                        ColumnBuffers *column = cache.by_oracle[row_oracles[j]];
                        Py_ssize_t at = row_slots[j];
                        if (flip_h) {
                            double *slope_h = (double *)column->arrays[0].view.buf;
                            slope_h[at] = -slope_h[at];
                        }
                        if (flip_f) {
                            double *slope_f = (double *)column->arrays[1].view.buf;
                            slope_f[at] = -slope_f[at];
                        }
                    }
                    if (flip_h) {
                        sign_h = -sign_h;
                        health_margins[row] = margin_h;
                        record[2] = sign_h;
                    }
                    if (flip_f) {
                        sign_f = -sign_f;
                        free_margins[row] = margin_f;
                        record[3] = sign_f;
                    }
                    code = 1 + (sign_h < 0.0 ? 2 : 0) + (sign_f < 0.0 ? 4 : 0);
                }
            }
        }
        PyObject *answer = PyLong_FromLong(code);
        if (answer == NULL) {
            failed = 1;
            break;
        }
        PyList_SET_ITEM(answers, i, answer);
    }
    column_cache_close(&cache);
    PyMem_Free(carry.tiers.values);
    if (got_slots) {
        PyBuffer_Release(&slots);
    }
    if (got_oracles) {
        PyBuffer_Release(&oracles);
    }
    if (got_counts) {
        PyBuffer_Release(&counts);
    }
    release(arrays, 2);
    if (failed) {
        Py_XDECREF(answers);
        return NULL;
    }
    return answers;
}

/*
 * reset(margins, record, line_count, line_oracle, line_slot, columns, prices, row, health, free,
 *       health_negative, free_negative, terms, quantum, relative_band, width)
 *       -> 1 (written), 0 (refused: anchor the row) or -1 (left to Python)
 *
 * HealthScreen.reset for a row whose lines are in the packed index (not an overflow row, nor
 * one with no line, which give -1, as does anything not of the expected shape), the same
 * operations in the same order. The caller has checked that the row is not staged. Nothing
 * is written unless the row is.
 */
static PyObject *reset(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 16) {
        PyErr_SetString(PyExc_TypeError, "reset takes 16 arguments");
        return NULL;
    }
    Py_ssize_t row = PyNumber_AsSsize_t(args[7], PyExc_OverflowError);
    int health_negative = PyObject_IsTrue(args[10]);
    int free_negative = PyObject_IsTrue(args[11]);
    Py_ssize_t terms = PyNumber_AsSsize_t(args[12], PyExc_OverflowError);
    Py_ssize_t width = PyNumber_AsSsize_t(args[15], PyExc_OverflowError);
    double figures[2]; /* health, free */
    double last[2];    /* quantum, relative_band */
    if (PyErr_Occurred() || health_negative < 0 || free_negative < 0 || read_doubles(args + 8, 2, figures) != 0 ||
        read_doubles(args + 13, 2, last) != 0) {
        return NULL;
    }
    if (terms < 0 || terms >= (1LL << 52)) {
        PyErr_SetString(PyExc_ValueError, "reset: terms out of range");
        return NULL;
    }
    if (!PyList_Check(args[5]) || PyList_GET_SIZE(args[5]) == 0 || width > HELD_MAX_LINES) {
        return PyLong_FromLong(-1);
    }
    double health = figures[0], free = figures[1], quantum = last[0], relative_band = last[1];
    WrittenRow written;
    if (open_row(&written, args, row, 0, width, "reset") != 0) {
        return NULL;
    }
    long result = -1;
    ColumnBuffers lines[HELD_MAX_LINES];
    memset(lines, 0, sizeof(lines));
    Py_ssize_t count = written.count;
    if (count == 0) {
        goto done;
    }
    result = 0;
    if (!(written.health_margins[row] < INFINITY && written.free_margins[row] < INFINITY) ||
        lines_inside(&written, lines, "reset") != 1) {
        goto done;
    }
    double *record = written.record;
    double old_h = record[2];
    double old_f = record[3];
    double sign_h = health_negative ? -1.0 : 1.0;
    double sign_f = free_negative ? -1.0 : 1.0;
    double moving_h = 0.0, moving_f = 0.0, spread = 0.0;
    for (Py_ssize_t j = 0; j < count; j++) {
        Py_ssize_t at = written.line_slot[j];
        double *slope_h = (double *)lines[j].arrays[0].view.buf;
        double *slope_f = (double *)lines[j].arrays[1].view.buf;
        double s_h = old_h * slope_h[at];
        double s_f = old_f * slope_f[at];
        slope_h[at] = sign_h * s_h;
        slope_f[at] = sign_f * s_f;
        add_line(s_h, s_f, PyFloat_AS_DOUBLE(PyList_GET_ITEM(written.prices, written.line_oracle[j])), &moving_h,
                 &moving_f, &spread);
    }
    double magnitudes = (spread + fabs(health)) + fabs(free);
    double relative = relative_band * magnitudes;
    double rounding = (double)(terms + 2) * quantum;
    double band = relative + rounding;
    written.health_margins[row] = sign_h * health - band;
    written.free_margins[row] = sign_f * free - band;
    record[0] = health - moving_h;
    record[1] = free - moving_f;
    record[2] = sign_h;
    record[3] = sign_f;
    record[4] = band;
    result = 1;
done:
    release_lines(lines, count);
    close_row(&written);
    if (PyErr_Occurred()) {
        return NULL;
    }
    return PyLong_FromLong(result);
}

static PyMethodDef methods[] = {
    {"tick", tick, METH_VARARGS, "tick(margins, rows, slope_h, slope_f, low, high, delta, price) -> candidate rows"},
    {"scatter_columns", scatter_columns, METH_VARARGS, "scatter_columns(moving, columns, block_rows): moving[row] += "
                                                   "slope x price over every column's lines, a block of rows at a time"},
    {"margins", margins, METH_VARARGS, "margins(margins, record, moving, rows): rebuild every margin"},
    {"shift", shift, METH_VARARGS, "shift(margins, record, shifts) -> flagged rows: move rows by known amounts"},
    {"flush", flush, METH_VARARGS, "flush(margins, record, line_count, line_oracle, line_slot, overflow, columns, prices, staged, "
                                   "width, low_factor, high_factor, relative_band) -> rows left to Python"},
    {"retier", (PyCFunction)(void (*)(void))retier, METH_FASTCALL, "retier(margins, record, line_count, line_oracle, line_slot, columns, prices, row, oracle, "
                                     "slope_h, slope_f, low, high, shift_health, low_factor, high_factor, relative_band, "
                                     "width) -> 1 carried, 0 refused, -1 left to Python"},
    {"restate", (PyCFunction)(void (*)(void))restate, METH_FASTCALL, "restate(margins, record, line_count, line_oracle, line_slot, columns, prices, row, "
                                       "oracle, slope_h, slope_f, low, high, size, health, free, carried, terms, quantum, "
                                       "low_factor, high_factor, relative_band, width) -> 1 written, 0 refused, -1 left to Python"},
    {"flip_rows", (PyCFunction)(void (*)(void))flip_rows, METH_FASTCALL, "flip_rows(margins, record, line_count, line_oracle, line_slot, columns, prices, rows, "
                                           "free_may_fall, width[, oracle, previous, tiers, low_factor, high_factor, "
                                           "relative_band]) -> per row: -2 not at zero, 0 refused, 1 + 2 health "
                                           "negative + 4 free negative flipped, -3 carried across its tiers, -1 left "
                                           "to Python"},
    {"reset", (PyCFunction)(void (*)(void))reset, METH_FASTCALL, "reset(margins, record, line_count, line_oracle, line_slot, columns, prices, row, "
                                   "health, free, health_negative, free_negative, terms, quantum, relative_band, width) "
                                   "-> 1 written, 0 refused, -1 left to Python"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_native", "The screen's loops in C (see solvent/risk/kernels.py).", -1, methods,
};

PyMODINIT_FUNC PyInit__native(void) {
    if (append_name == NULL) {
        append_name = PyUnicode_InternFromString("append");
        if (append_name == NULL) {
            return NULL;
        }
    }
    PyObject *created = PyModule_Create(&module);
#ifdef THREADED
    long threaded = 1;
#else
    long threaded = 0;
#endif
    /* THREADED: whether this build cuts its large loops among threads (tests check it) */
    if (created != NULL && PyModule_AddIntConstant(created, "THREADED", threaded) != 0) {
        Py_DECREF(created);
        return NULL;
    }
    return created;
}
