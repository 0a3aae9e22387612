// Worker process for the job-store crash tests (issue 5): claims jobs and works on them until killed.
import JobStore
