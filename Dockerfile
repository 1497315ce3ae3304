# The Airflow image with Wiredesk's pinned requirements and the pipeline package.
FROM apache/airflow:3.3.2-python3.11
COPY --chown=airflow:root requirements.txt /opt/wiredesk/requirements.txt
RUN pip install --no-cache-dir -r /opt/wiredesk/requirements.txt
COPY --chown=airflow:root pyproject.toml README.md /opt/wiredesk/
COPY --chown=airflow:root pipeline /opt/wiredesk/pipeline
RUN pip install --no-cache-dir --no-deps -e /opt/wiredesk
