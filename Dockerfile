FROM python:3.11-slim

RUN useradd --create-home --uid 10001 switchvox
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY src ./src
COPY alembic ./alembic
RUN pip install --no-cache-dir '.[postgres]'

USER switchvox
WORKDIR /home/switchvox
EXPOSE 8000
CMD ["switchvox-server", "serve", "--host", "0.0.0.0", "--port", "8000"]
