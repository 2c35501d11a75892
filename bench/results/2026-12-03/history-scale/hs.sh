# before/after, interleaved: A B B A, CPU seconds and wall (the helpers' twin work runs beside this)
R=/tmp/grid-history
M=$(/work/main/.venv/bin/python -c "import pyarrow.parquet as pq; print(pq.read_table('$R/run_id=h000/all-cells.parquet', columns=['model'])['model'][0])")
for order in before after after before; do
  if [ $order = before ]; then P=/work/wt-before; else P=/work/main; fi
  for args in "runs --results $R --json" "history --results $R --json" "history --results $R --model $M --json"; do
    /usr/bin/time -f "$order|$args|%e|%U|%S|%M" env PYTHONPATH=$P /work/main/.venv/bin/grid $args > /dev/null 2>> /tmp/hs.err
  done
done
cat /proc/loadavg
